/** The help texts, one per command. Kept together so the whole CLI reads like its reference. */

const connectionOptions = `Connection options (the control center must be running):
  --url URL             Its address as printed by serve: http://HOST:PORT/#token=TOKEN (default: $OUTPOST_URL)
  --token TOKEN         Access token, when the URL carries none
  --data-dir DIR        Without --url: find the control center serving this data directory
                        (default: $OUTPOST_DATA_DIR, else the per-user folder)`

const hostOptions = `Options:
  --data-dir DIR            Data directory: database, models, broker secret
                            (default: $OUTPOST_DATA_DIR, else ~/.local/share/outpost or the platform's equivalent)
  --host HOST               Address the UI listens on (default 127.0.0.1; any other address exposes it to the network,
                            guarded only by the access token)
  --port N                  HTTP port of the UI (default 7420; 0 picks a free port)
  --broker-port N           Port of the embedded MQTT broker (default 1883; 0 picks a free port)
  --broker-host HOST        Address the embedded broker listens on (default 127.0.0.1)
  --broker URL              Use this external MQTT broker instead of the embedded one (mqtt://, mqtts://, ws://, wss://)
                            (default: $OUTPOST_BROKER_URL)
  --broker-username USER    Username for the external broker (default: $OUTPOST_BROKER_USERNAME)
  --broker-password PASS    Password for the external broker (prefer $OUTPOST_BROKER_PASSWORD: other users can read argv)
  --token TOKEN             Access token for the UI (default: 32 random bytes, new on every start)
  --renderer-dir DIR        Built UI to serve (default: out/renderer in the repository)
  --demo                    Also enroll demo-1..demo-5, simulate them in one child process and import a sample model
  --verbose                 Forward the demo agents' log to standard error
  --json                    Print one JSON line instead of the ready/token/broker lines
  -h, --help                Show this help`

export const usage = {
  main: `Usage: outpost <command> [options]

Outpost control center: deploy ML models to a fleet of edge devices and watch them run.

Commands:
  start             Open the desktop app; without an Electron runtime, serve the same UI headless (npm start)
  serve             Run the control center headless and serve the UI to a browser
  status            Show the running control center's version, data directory, broker and device counts
  devices list      List devices, read straight from the database (works while the control center runs)
  devices enroll    Register devices with the running control center and issue their broker credentials
  models list       List imported models
  models import     Import an ONNX model file
  models deploy     Assign a model to devices

Options:
  -h, --help        Show help; \`outpost <command> --help\` shows a command's options
  --version         Show the version

Environment:
  OUTPOST_DATA_DIR  Data directory used when --data-dir is absent
  OUTPOST_URL       Address of a running control center, http://HOST:PORT/#token=TOKEN
  OUTPOST_DEBUG=1   Print the stack of internal errors

Errors print one line, \`outpost: error [code] message\`, and exit with 1 (2 for a mistake on the command line).`,

  serve: `Usage: outpost serve [options]

Runs the control center without a desktop window: database, MQTT broker, backend, and the UI over HTTP with a
WebSocket API. Once it accepts connections it prints three lines:
  ready http://HOST:PORT/#token=TOKEN
  token TOKEN
  broker mqtt://HOST:PORT
Stop it with Ctrl-C (SIGINT) or SIGTERM.

${hostOptions}`,

  start: `Usage: outpost start [options]

Opens the desktop app when the Electron runtime is installed. Otherwise prints one line saying why and runs
\`outpost serve\` with the same options. \`npm start -- --demo\` runs this command.

${hostOptions}`,

  status: `Usage: outpost status [options]

Shows the running control center's version, host, data directory, broker and device counts.

Options:
  --json                Print one JSON object
  -h, --help            Show this help

${connectionOptions}`,

  devices: `Usage: outpost devices <list|enroll> [options]

  devices list      List devices, read straight from the database
  devices enroll    Register devices and issue their broker credentials

Run \`outpost devices <subcommand> --help\` for its options.`,

  devicesList: `Usage: outpost devices list [--data-dir DIR] [--json]

Lists the devices in the control center's database (id, online, model@version, execution provider, latency,
last seen). Opens the database read-only, so it works whether or not the control center is running.

Options:
  --data-dir DIR        Data directory (default: $OUTPOST_DATA_DIR, else the per-user folder)
  --json                Print a JSON array of devices
  -h, --help            Show this help`,

  devicesEnroll: `Usage: outpost devices enroll ID [options]
       outpost devices enroll --count N [--prefix P] [options]

Registers devices with the running control center and prints their broker credentials. A password is shown
only once; enrolling an existing id issues a new password and revokes the old one. Start an agent with:
  outpost-agent --broker URL --device-id ID --username ID --password PASSWORD --data-dir DIR

Options:
  --count N             Enroll N devices named PREFIX1 ... PREFIXN (1 to 1000)
  --prefix P            Name prefix for --count (default device-)
  --out FILE            Write the credentials to FILE (mode 0600, the format of outpost-agent --credentials)
                        instead of printing the passwords
  --json                Print JSON
  -h, --help            Show this help

${connectionOptions}`,

  models: `Usage: outpost models <list|import|deploy> [options]

  models list       List imported models
  models import     Import an ONNX model file
  models deploy     Assign a model to devices

Run \`outpost models <subcommand> --help\` for its options.`,

  modelsList: `Usage: outpost models list [options]

Lists the imported models.

Options:
  --json                Print a JSON array of models
  -h, --help            Show this help

${connectionOptions}`,

  modelsImport: `Usage: outpost models import FILE [--name NAME] [--version VERSION] [options]

Imports an ONNX model file. The control center reads FILE from its own disk, checks it loads in onnxruntime, and
stores it under its sha256. Without --name and --version the control center picks them.

Options:
  --name NAME           Model name (1 to 128 characters)
  --version VERSION     Model version (1 to 64 characters)
  --json                Print the imported model as JSON
  -h, --help            Show this help

${connectionOptions}`,

  modelsDeploy: `Usage: outpost models deploy MODEL_ID --device ID [--device ID ...] [options]

Assigns a model to devices. Each device gets a new directive and pulls the model over MQTT.

Options:
  --device ID           A device to deploy to; repeat for several
  --json                Print the directives as JSON
  -h, --help            Show this help

${connectionOptions}`,
} as const
