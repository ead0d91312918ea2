import { useEffect, useState } from 'react'

/** The current time, refreshed every `intervalMs`, for relative times such as 'last seen 12 s ago'. */
export function useNow(intervalMs = 5_000): number {
  const [nowMs, setNowMs] = useState(() => Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNowMs(Date.now()), intervalMs)
    return () => clearInterval(timer)
  }, [intervalMs])
  return nowMs
}
