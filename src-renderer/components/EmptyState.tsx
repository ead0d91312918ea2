import type { ReactNode } from 'react'

/** Tells a newcomer what to do next; `commands` are shown as copyable terminal lines. */
export function EmptyState({ title, children, commands = [] }: { title: string; children?: ReactNode; commands?: string[] }) {
  return (
    <section className="empty-state" data-testid="empty-state">
      <h2>{title}</h2>
      {children}
      {commands.length > 0 && (
        <pre className="commands">
          {commands.map((command) => (
            <code key={command}>{command}</code>
          ))}
        </pre>
      )}
    </section>
  )
}
