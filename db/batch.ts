// Group commit: calls that arrive while earlier ones are being written are combined into one
// statement. Under load that turns many round trips and WAL flushes into few; alone, a call is
// written at once.
export function createBatcher<In, Out>(
  write: (items: In[]) => Promise<Out[]>,
  options: { maxBatch?: number; maxConcurrent?: number } = {},
) {
  const maxBatch = options.maxBatch ?? 200;
  const maxConcurrent = options.maxConcurrent ?? 4;
  let waiting: Array<{ item: In; resolve: (out: Out) => void; reject: (err: unknown) => void }> = [];
  let running = 0;

  const pump = () => {
    while (running < maxConcurrent && waiting.length > 0) {
      const batch = waiting.slice(0, maxBatch);
      waiting = waiting.slice(batch.length);
      running += 1;
      write(batch.map((entry) => entry.item))
        .then(
          (outs) => batch.forEach((entry, index) => entry.resolve(outs[index]!)),
          (err) => batch.forEach((entry) => entry.reject(err)),
        )
        .finally(() => {
          running -= 1;
          pump();
        });
    }
  };

  return (item: In): Promise<Out> =>
    new Promise<Out>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      // Let the other requests of this event-loop turn join the batch.
      if (waiting.length === 1) setImmediate(pump);
      else if (waiting.length >= maxBatch) pump();
    });
}
