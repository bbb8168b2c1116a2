import { useCallback, useEffect, useRef, useState } from 'react';

/** Loads now and again every `everyMs` (live views); `reload` refreshes at once after an action. */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], everyMs = 3000) {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(async () => {
    try {
      setData(await loadRef.current());
      setError(undefined);
    } catch (err) {
      setError((err as Error).message);
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
