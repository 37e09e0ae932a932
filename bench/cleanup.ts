/** Every process the bench starts registers its stop here, so Ctrl-C or a kill leaves nothing behind. */

const live = new Set<() => Promise<void>>();

/** Registers `stop`; answers a stop that also unregisters it (and runs once). */
export function tracked(stop: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  const once = () => {
    live.delete(once);
    done ??= stop();
    return done;
  };
  live.add(once);
  return once;
}

export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((stop) => stop()));
}

export function stopOnSignals(): void {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the bench's servers and agents`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}
