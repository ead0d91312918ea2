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
  drift report      Drift per device or cohort for a release, read straight from the database
  models list       List imported models
  models import     Import an ONNX model file
  models deploy     Assign a model to devices
  model inspect     Describe a local .onnx/.tflite file: inputs, outputs, operators, parameters, opsets
  model optimize    Make an optimized copy of a local model with a recipe (graph, fp16, int8-dynamic, int8-static)
  model evaluate    Compare a candidate model with its baseline and give the release verdict
  model compress    Brotli-compress a model file for transport
  keys init         Create a trust root: root, release and director keys (encrypted) and root.json
  keys list         List key files with their roles and key ids, checked against root.json
  release create    Build a release bundle (model, golden files, manifest) ready for signing
  release sign      Add one release signature to a bundle or floor record, offline
  release verify    Check a bundle or floor record against root.json: exit 0 only when fully valid
  release floor     Write a security floor record for a model (signed like a release)
  rollout create    Plan a staged rollout (waves, gates, rate) as a draft; --start starts it
  rollout start     Start a draft rollout; also pause, resume, approve, retry, abort, rollback
  rollout status    List rollouts, or show one with its waves, gate values and failed devices
  rollout dry-run   Simulate a rollout on the current fleet or a synthetic one; sends nothing
  rollout report    Export the per-device account as JSON or CSV
  rollout audit     Show the hash-chained audit log and whether it is intact

\`models ...\` (plural) works on the models of a running control center; \`model ...\` (singular) works on local
files and needs no control center.

Options:
  -h, --help        Show help; \`outpost <command> --help\` shows a command's options
  --version         Show the version

Environment:
  OUTPOST_DATA_DIR  Data directory used when --data-dir is absent
  OUTPOST_URL       Address of a running control center, http://HOST:PORT/#token=TOKEN
  OUTPOST_DEBUG=1   Print the stack of internal errors
  OUTPOST_KEY_PASSPHRASE  Passphrase of key files when --passphrase-file is absent (keys, release, serve --trust-dir)

Errors print one line, \`outpost: error [code] message\`, and exit with 1 (2 for a mistake on the command line).`,

  serve: `Usage: outpost serve [options]

Runs the control center without a desktop window: database, MQTT broker, backend, and the UI over HTTP with a
WebSocket API. Once it accepts connections it prints three lines:
  ready http://HOST:PORT/#token=TOKEN
  token TOKEN
  broker mqtt://HOST:PORT
Stop it with Ctrl-C (SIGINT) or SIGTERM.

${hostOptions}

Trust options (serve only):
  --trust-dir DIR           Folder with root.json and keys/director-N.key (from \`outpost keys init\`): enables
                            release import and signed directives
  --passphrase-file FILE    Passphrase of the director key (default: $OUTPOST_KEY_PASSPHRASE)`,

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

These talk to a running control center; \`outpost model ...\` (singular) inspects, optimizes and evaluates local
files without one.

Run \`outpost models <subcommand> --help\` for its options.`,

  model: `Usage: outpost model <inspect|optimize|evaluate|compress> [options]

Model packaging on local files; no control center needed (\`outpost models ...\` manages a control center's models).

  model inspect     Describe a .onnx or .tflite file
  model optimize    Write an optimized copy plus its model card (OUT.card.json)
  model evaluate    Compare a candidate with its baseline on the same inputs; print the release verdict
  model compress    Brotli-compress a model for transport and report the ratio

Run \`outpost model <subcommand> --help\` for its options.`,

  modelInspect: `Usage: outpost model inspect FILE [--json]

Describes an ONNX (IR up to 10, opsets up to 21, external data files, If/Loop/Scan subgraphs) or TFLite model
without running it: inputs and outputs, opsets, producer, metadata, node count and operator histogram per graph,
parameters by dtype, custom operators, external data files, and warnings that matter for deployment.

Options:
  --json                Print the inspection as JSON
  -h, --help            Show this help`,

  modelOptimize: `Usage: outpost model optimize FILE --recipe RECIPE -o OUT [options]

Writes an optimized copy of an ONNX model to OUT and its model card to OUT.card.json, both or neither. The source
is never modified. Every result is loaded in onnxruntime before it is written.

Recipes:
  graph          onnxruntime's offline graph optimizations at the portable 'extended' level (constant folding,
                 redundant node removal, operator fusions)
  fp16           weights and compute in float16; inputs and outputs stay float32 (Casts at the edges); ops that
                 need float32 stay float32; values clamped to the float16 range
  int8-dynamic   int8 weights, activations quantized at run time (MatMul, Gemm, Conv, LSTM), as onnxruntime's
                 quantize_dynamic emits them
  int8-static    QDQ int8 with ranges calibrated on --calibration data; int32 bias

Options:
  --recipe RECIPE       graph, fp16, int8-dynamic or int8-static
  -o, --out OUT         Output model file (its card goes to OUT.card.json)
  --calibration PATH    int8-static: a .npy/.npz file, or a directory of them (joined along the first axis in
                        file-name order). Arrays are named after the model inputs; a one-input model takes any name
  --method METHOD       int8-static calibration: minmax (default), percentile or entropy
  --per-channel         int8 recipes: per-channel weight scales (int8-static needs opset 13+)
  --json                Print the output paths and the model card as JSON
  -h, --help            Show this help

The model card records the source sha256, recipe and options, the calibration set's sha256 and shapes, Outpost's
version, sizes, node counts and the quantization report (which nodes were quantized, which stayed float and why).`,

  modelEvaluate: `Usage: outpost model evaluate --baseline A --candidate B --inputs PATH [options]

Runs both models in onnxruntime on the same inputs and prints: file sizes, latency p50/p95 over timed runs after
warm-up, per-output max/mean absolute error and cosine similarity, top-1 agreement (argmax, or a 0.5 threshold
for single-probability outputs), accuracy with --labels, and the release verdict with its reasons.

A completed evaluation exits 0 whether or not the candidate is release-ready: the verdict is a result, printed
(and in --json as readiness.isReleaseReady), not an error. Exit 1 means the evaluation itself failed.

Options:
  --baseline FILE           The reference model (usually the fp32 source)
  --candidate FILE          The model to judge (e.g. the output of \`outpost model optimize\`)
  --inputs PATH             A .npy/.npz file or a directory of them; arrays named after the model inputs
                            (a one-input model takes any name); rows along the first axis
  --labels FILE             A .npy of integer labels, one per input row: adds baseline and candidate accuracy
  --runs N                  Timed latency runs per model (default 20)
  --min-agreement X         Not release-ready below this top-1 agreement: a fraction (0.99) or a percentage (99%)
  --max-accuracy-drop X     Not release-ready when accuracy drops by more than this (0.01 = one point); needs --labels
  --update-card             Record the verdict and headline figures in CANDIDATE.card.json, for the release step
  --json                    Print the full result as JSON
  -h, --help                Show this help`,

  modelCompress: `Usage: outpost model compress FILE [-o OUT] [--json]

Compresses a model file with brotli for transport and reports the ratio (compressed / original).

Options:
  -o, --out OUT         Output file (default FILE.br)
  --json                Print the sizes and ratio as JSON
  -h, --help            Show this help`,

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

  brokerConfig: `Usage: outpost broker-config mosquitto --out DIR [options]

Writes DIR/mosquitto.conf, DIR/passwords and DIR/acl for an external mosquitto 2.x that enforces what the embedded
broker does: no anonymous clients, username = client id, each device publishes only under its own up/ topics and
reads only its own down/ topics, the control center (user control-center) reads and writes outpost/#.

mosquitto keeps password hashes, so it needs each password once in plaintext. The control center's password is the
secret in its data directory (DATA/broker-secret). Device passwords must be freshly issued, since the control center
keeps only hashes:
  1. outpost broker-config mosquitto --out DIR            (the control center's entry only)
  2. mosquitto -c DIR/mosquitto.conf
  3. OUTPOST_BROKER_PASSWORD="$(cat DATA/broker-secret)" outpost serve --broker mqtt://127.0.0.1:1883
       --broker-username control-center        (one command line)
  4. outpost devices enroll --count N --out creds.json   (new passwords, through the running control center)
  5. outpost broker-config mosquitto --out DIR --credentials creds.json, then kill -HUP <mosquitto pid>
Or, for devices already enrolled, --reissue gives every device a new password through the running control center
and writes them to DIR/device-credentials.json for outpost-agent --credentials (old passwords stop working).
Entries already in DIR/passwords are kept; passwords are hashed with PBKDF2-SHA512 (mosquitto's $7$ format).

Options:
  --out DIR             Folder for the files (created with mode 0700; passwords is 0600)
  --data-dir DIR        The control center's data directory (default: $OUTPOST_DATA_DIR, else the per-user folder)
  --port N              Port mosquitto listens on (default 1883)
  --host HOST           Address mosquitto listens on (default 127.0.0.1)
  --credentials FILE    Add the devices of FILE ({"devices":[{"deviceId","username","password"}]})
  --reissue             Re-enroll every device of the running control center and add them (see --url, --token)
  --no-persistence      Keep no broker state on disk (tests; the agents re-sync on every connect anyway)
  --json                Print one JSON object with the file paths instead of the instructions
  -h, --help            Show this help
Started as root, mosquitto switches to the user "mosquitto": give it read access to DIR (chown), or run mosquitto
as the user who ran this command.

${connectionOptions}`,

  modelsDeploy: `Usage: outpost models deploy MODEL_ID --device ID [--device ID ...] [options]

Assigns a model to devices. Each device gets a new directive and pulls the model over MQTT.

Options:
  --device ID           A device to deploy to; repeat for several
  --json                Print the directives as JSON
  -h, --help            Show this help

${connectionOptions}`,

  keys: `Usage: outpost keys <init|list> [options]

  keys init         Create a trust root: keys for the root, release and director roles, and root.json
  keys list         List key files with their roles and key ids, checked against root.json

Run \`outpost keys <subcommand> --help\` for its options.`,

  keysInit: `Usage: outpost keys init --dir DIR [options]

Creates DIR/root.json (version 1, signed by every root key) and one encrypted key file per key under DIR/keys/
(scrypt + AES-256-GCM, mode 0600). Refuses to overwrite anything. Defaults follow anchors-security.md §10.1:
3 of 5 root keys, 2 of 3 release keys, 1 director key, root valid for 365 days.

Options:
  --dir DIR                 Folder for root.json and keys/ (created when missing)
  --root-keys N             Root keys (default 5)       --root-threshold N      Signatures a new root needs (default 3)
  --release-keys N          Release keys (default 3)    --release-threshold N   Signatures a release needs (default 2)
  --director-keys N         Director keys (default 1; a second one is a cold spare)
  --expires-days N          Root validity in days (default 365)
  --passphrase-file FILE    Passphrase for the new key files, at least 8 characters (default: $OUTPOST_KEY_PASSPHRASE)
  --json                    Print the summary as JSON
  -h, --help                Show this help`,

  keysList: `Usage: outpost keys list --dir DIR [--json]

Lists DIR/keys/*.key: role, name, key id (recomputed from the public key, never read from the file) and whether
DIR/root.json lists it under that role. Exits 1 when a key file disagrees with itself or with root.json.

Options:
  --dir DIR             Folder of \`outpost keys init\`
  --json                Print JSON
  -h, --help            Show this help`,

  release: `Usage: outpost release <create|sign|verify|floor> [options]

  release create    Build a release bundle (model, golden files, manifest) ready for signing
  release sign      Add one release signature to a bundle or floor record, offline
  release verify    Check a bundle or floor record against root.json: exit 0 only when fully valid
  release floor     Write a security floor record for a model

Run \`outpost release <subcommand> --help\` for its options.`,

  releaseCreate: `Usage: outpost release create --model FILE --name NAME --version V -o BUNDLE [options]

Writes the folder BUNDLE: release.json (the manifest, not yet signed), files/model.onnx, files/golden_inputs.npz,
files/golden_outputs.npz and chunks/<sha256>.json (the model's per-chunk hashes). The manifest records the
model id, release counter, version, validity, every file's length and SHA-256, compatibility (onnxruntime-node,
highest opset, IR version, execution providers), the health check (golden files, tolerance) and the model card.

Options:
  --model FILE              ONNX model (weights inside the file)
  --name NAME               Model id of the release: the same for every release of this model
  --version V               Version shown to people, such as 2.3.0
  --counter N               Release counter: higher than every earlier release of NAME. Default: derived from a
                            MAJOR[.MINOR[.PATCH]] version as MAJOR*1000000 + MINOR*1000 + PATCH (MINOR, PATCH < 1000)
  --card FILE               Model card (JSON from \`outpost model optimize\`/\`evaluate\`, or Markdown), embedded
  --override-reason TEXT    Release a candidate whose card says it is not release-ready; the reason is signed along
  --golden-inputs FILE      Health check inputs (.npz/.npy, arrays named after the model inputs); with --golden-outputs
  --golden-outputs FILE     Expected outputs. Without both, they are recorded from the model on CPU
  --tolerance X             Largest absolute output difference the health check allows (default 0.001)
  --execution-provider EP   An execution provider the release is validated on; repeat for several (default cpu)
  --expires-days N          Days until the manifest expires (default 180, at most 365)
  -o, --out BUNDLE          Folder to create (must not exist)
  --json                    Print the result as JSON
  -h, --help                Show this help`,

  releaseSign: `Usage: outpost release sign BUNDLE --key KEYFILE [options]
       outpost release sign FLOOR.json --key KEYFILE [options]

Adds one signature with a release key, rewriting release.json (or the floor record) in place. Each release
signer runs it on their own machine; signing again with the same key changes nothing. A bundle's files are
checked against its manifest before it is signed.

Options:
  --key KEYFILE             A release key file from \`outpost keys init\`
  --passphrase-file FILE    Its passphrase (default: $OUTPOST_KEY_PASSPHRASE)
  --root root.json          Also report how many valid signatures of the threshold the file now has
  --json                    Print the result as JSON
  -h, --help                Show this help`,

  releaseVerify: `Usage: outpost release verify BUNDLE --root root.json [--json]
       outpost release verify FLOOR.json --root root.json [--json]

Verifies like a device does: root.json signs itself and is unexpired; release.json meets the release threshold,
matches its schema (safe file names) and is unexpired; the bundle holds exactly the files the manifest lists, and
every file's length, chunk hashes and SHA-256 match. Exit 0 only when all of that holds; otherwise exit 1 with
one line: \`outpost: error [CODE] reason\` (CODE such as threshold-not-met, hash-mismatch, length-mismatch,
path-unsafe, unexpected-file, missing-file, metadata-expired, signature-invalid).

Options:
  --root root.json      The trusted root
  --json                Also print the verdict as one JSON object on standard output
  -h, --help            Show this help`,

  releaseFloor: `Usage: outpost release floor --name NAME --min-counter N -o FLOOR.json [options]

Writes an unsigned security floor record: devices refuse any release of NAME with a counter below N, for install
and rollback, once the record carries the release threshold of signatures (\`outpost release sign FLOOR.json\`).
Floors only rise.

Options:
  --name NAME               Model id of the releases
  --min-counter N           Lowest release counter still allowed
  --floor-version V         Version of this record (default: N, so a higher floor always has a higher version)
  --reason TEXT             Why, for the people reading device reports
  --expires-days N          Days until the record expires (default 365; the floor itself stays)
  -o, --out FILE            File to create (must not exist)
  --json                    Print the result as JSON
  -h, --help                Show this help`,

  drift: `Usage: outpost drift report --release R [options]

  drift report      Drift per device or cohort for a release, read straight from the database

Run \`outpost drift report --help\` for its options.`,

  driftReport: `Usage: outpost drift report --release R [--since T] [--until T] [--by device|cohort] [--json] [--data-dir DIR]

Scores every device (or cohort) of a release against the release's signed reference bins over a time range:
the distance per feature (PSI by default, see the drift settings), a verdict per feature (none below the minimum
sample count), and whether the device drifts (at least half of its evaluated features). Opens the database
read-only, so it works whether or not the control center is running.

Options:
  --release R           Model sha256 (or its first 8+ characters), model id, name@version or reference label
  --since T             Start: an ISO time (2025-06-01T12:00:00Z) or a duration back from now (30m, 6h, 7d);
                        default 24h before --until
  --until T             End, the same forms (default now)
  --by G                device (default), cohort (= tag), tag, arch, executionProvider or modelVersion
  --limit N             At most N rows, the most drifting first (default all, up to 10000)
  --json                Print the whole report as JSON (the drift.heatmap shape)
  --data-dir DIR        Data directory (default: $OUTPOST_DATA_DIR, else the per-user folder)
  -h, --help            Show this help`,

  rollout: `Usage: outpost rollout <command> [options]

  rollout create    Plan a rollout as a draft (add --start to start it at once)
  rollout start     Start a draft: the canary wave goes out
  rollout pause     Stop sending new installs (gates keep watching)
  rollout resume    Continue a paused rollout
  rollout approve   Let the next wave start when it requires approval
  rollout retry     Send failed and timed-out devices their install again (bounded retries)
  rollout abort     Stop for good; --rollback also returns switched devices to their previous release
  rollout rollback  Return switched devices (the current wave, or --all) to their previous release
  rollout status    List rollouts, or show one
  rollout dry-run   Simulate a rollout; sends nothing
  rollout report    Export the per-device account (JSON or CSV)
  rollout audit     Show the audit log and verify its hash chain

Every action is written to the audit log with who (--actor, default $OUTPOST_ACTOR or your login) and why (--reason).
Run \`outpost rollout <command> --help\` for its options.`,

  rolloutCreate: `Usage: outpost rollout create (--model MODEL_ID | --variant NAME=MODEL_ID[,REQ...] ...) [options]

Plans a staged rollout against the fleet as it is now and stores it as a draft; nothing is sent until it starts
(it is planned again at start). Defaults: waves canary max(5 devices, 1%) -> 10% -> 50% -> 100% (cumulative), a
30 min soak after each wave settles, halt when install failures >= 5% after >= 20 executed, timeouts >= 10%,
silent devices >= 25% of 20 sent, health-check failures >= 5%, p95 latency > 1.2x the previous release, drift > 0.1;
a halt rolls the wave back.

What:
  --model MODEL_ID          Roll out one imported model to every targeted device
  --variant NAME=MODEL_ID[,ep=EP][,arch=ARCH][,min-memory-mb=N][,accel=PREFIX]
                            One variant of the release; repeat, best first. A device gets the first variant its
                            reported capabilities satisfy (e.g. --variant fp16=m-…,ep=cuda --variant int8=m-…);
                            devices no variant fits are skipped as incompatible before anything is downloaded
  --name NAME               Name of the rollout
Which devices (all criteria must hold; default: the whole fleet):
  --device ID               An explicit device; repeat for several
  --tag TAG, --group GROUP  Devices with every tag / in any group; repeat for several
  --arch ARCH, --ep EP      Devices of an architecture (x64, arm64) / whose execution provider EP loads
  --min-memory-mb N         Devices with at least N MiB of memory
How:
  --waves 1:5,10,50,100     Cumulative percentages, each with an optional minimum device count (PERCENT:MIN)
  --soak DURATION           Soak after each wave settles (90s, 30m, 2h; default 30m)
  --approval                Every wave after the canary waits for \`outpost rollout approve\`
  --rate N                  At most N installs per minute
  --ramp                    Start at 10 installs/min and double after every 20 successes
  --window HH:MM-HH:MM[@D,D]  Send installs only in this UTC window (days 0 = Sunday .. 6); repeat for several
  --on-breach halt|halt-and-rollback   What a gate breach does (default halt-and-rollback)
  --max-failure-percent P   Install-failure threshold (default 5)
  --max-latency-ratio R     p95 latency threshold against the previous release (default 1.2)
Then:
  --start                   Start it right away
  --actor NAME, --reason TEXT   Who and why, for the audit log
  --json                    Print the rollout as JSON
  -h, --help                Show this help

${connectionOptions}`,

  rolloutStart: `Usage: outpost rollout start ROLLOUT_ID [--actor NAME] [--reason TEXT] [--json]

Plans the draft again against the fleet as it is now and sends the canary wave.

${connectionOptions}`,

  rolloutAction: `Usage: outpost rollout <pause|resume|approve|retry> ROLLOUT_ID [--actor NAME] [--reason TEXT] [--json]

  pause     Stop sending new installs; the gates keep watching the devices already sent to
  resume    Continue a paused rollout
  approve   Let the next wave start (waves created with --approval wait for this)
  retry     Send failed devices (up to 2 retries) and timed-out devices (1 retry) their install again;
            a rollout halted by failures runs again

${connectionOptions}`,

  rolloutAbort: `Usage: outpost rollout abort ROLLOUT_ID --reason TEXT [--rollback] [--actor NAME] [--json]

Stops the rollout for good: no further installs are sent. Devices already switched keep the new release, unless
--rollback sends each of them a directive back to the release it ran before.

${connectionOptions}`,

  rolloutRollback: `Usage: outpost rollout rollback ROLLOUT_ID --reason TEXT [--all] [--actor NAME] [--json]

Returns the devices of the current wave (or, with --all, of every wave) that switched to the new release to the
release each ran before. A rollout still in progress stops (aborted).

${connectionOptions}`,

  rolloutStatus: `Usage: outpost rollout status [ROLLOUT_ID] [--json]

Without an id: every rollout with its status and counts. With one: its waves, the gate values of each (committed /
failed / timed out / silent, failure rate, p95 ratio), the per-device outcome counts and the failed devices.

${connectionOptions}`,

  rolloutDryRun: `Usage: outpost rollout dry-run ROLLOUT_ID [simulation options]
       outpost rollout dry-run --model MODEL_ID [the options of create] [simulation options]

Runs the rollout's real planner and gates against a simulated fleet and prints the timeline, how many devices get
the release before a halt, and the time to 100%. Sends nothing.

Simulation options:
  --synthetic N             Simulate N synthetic CPU devices instead of the current fleet
  --failure-rate F          Chance that an install fails (0..1, default 0)
  --health-failure-rate F   Chance that the health check fails after the switch (default 0)
  --online-ratio R          Chance that a device is online (default 1)
  --latency-ratio R         p95 of the new release over the old one (default 1)
  --install-time DURATION   Typical install time (default 5m)
  --step DURATION           Simulation time step (default 1m)
  --seed N                  Random seed (default 1)
  --json                    Print the whole result, timeline included, as JSON
  -h, --help                Show this help

${connectionOptions}`,

  rolloutReport: `Usage: outpost rollout report ROLLOUT_ID [--format json|csv] [--out FILE]

Exports the per-device account: every device in exactly one outcome (committed, failed with its code, rolled-back,
skipped-incompatible, unreachable, not-sent, in-progress), with its wave, variant, attempts and directive seqs.
Without --out the report goes to standard output; the format follows FILE's extension (.csv) unless --format says.

${connectionOptions}`,

  rolloutAudit: `Usage: outpost rollout audit [ROLLOUT_ID] [--limit N] [--json]

Shows the audit log (who, when, what, why) of one rollout or of all, and verifies the whole hash chain: any entry
changed, removed or reordered since it was written breaks it. Exits 1 when the chain is broken.

${connectionOptions}`,
} as const
