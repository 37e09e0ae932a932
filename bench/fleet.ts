/** The bench's side of its client agents: forks them and calls their commands over IPC. */
import { type ChildProcess, fork } from "node:child_process";
import type { Answers, Command, Reply } from "./agent-protocol";
import { tracked } from "./cleanup";

export class Agent {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly stop: () => Promise<void>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    this.stop = tracked(() => this.end());
    child.on("message", (m) => {
      const reply = m as Reply;
      const w = this.waiting.get(reply.id);
      if (!w) return;
      this.waiting.delete(reply.id);
      if (reply.ok) w.resolve(reply.value);
      else w.reject(new Error(`agent ${name}: ${reply.error}`));
    });
    child.on("exit", (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`agent ${name} exited (${code})`));
      this.waiting.clear();
    });
  }

  static start(script: string, name: string): Agent {
    // Structured clone ("advanced") moves large latency arrays faster than JSON.
    const child = fork(script, [], { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
    return new Agent(name, child);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  call<C extends Command["cmd"]>(command: Extract<Command, { cmd: C }>): Promise<Answers[C]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...command, id });
    });
  }

  private async end(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    try {
      await Promise.race([this.call({ cmd: "exit" }), new Promise((r) => setTimeout(r, 5_000))]);
    } catch {
      // exiting
    }
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 3_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Splits `items` over the agents, round robin; answers one list per agent. */
export function spread<T>(items: T[], parts: number): T[][] {
  const out: T[][] = Array.from({ length: parts }, () => []);
  items.forEach((item, i) => {
    out[i % parts]?.push(item);
  });
  return out;
}
