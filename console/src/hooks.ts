import { useCallback, useEffect, useRef, useState } from 'react';

/**
 * Loads now and again every `everyMs` (live views); `reload` refreshes at once after an action.
 *
 * Answers can come back in another order than the loads went out (a property chosen while the first
 * one's units are still loading): an answer older than one already shown is dropped, or the page
 * would show the earlier choice's data and never load again.
 */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], everyMs = 3000) {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const loadRef = useRef(load);
  loadRef.current = load;
  const issued = useRef(0);
  const shown = useRef(0);
  const reload = useCallback(async () => {
    const ticket = ++issued.current;
    let outcome: { data: T } | { error: string };
    try {
      outcome = { data: await loadRef.current() };
    } catch (err) {
      outcome = { error: (err as Error).message };
    }
    if (ticket < shown.current) return;
    shown.current = ticket;
    if ('data' in outcome) {
      setData(outcome.data);
      setError(undefined);
    } else {
      setError(outcome.error);
    }
  }, []);
  useEffect(() => {
    void reload();
    if (!everyMs) return;
    const timer = setInterval(() => void reload(), everyMs);
    return () => clearInterval(timer);
  }, deps);
  return { data, error, reload };
}
