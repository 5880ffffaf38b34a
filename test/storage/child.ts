// Runs a fixture script in a child process (node --import tsx), on a database given as JSON in
// the environment variable WEFT_TEST_DATABASE. Used where a test needs a second process: a
// SIGKILL, or several processes starting on one database at once.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { DatabaseConfig } from "../../src/storage/database.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface ChildResult {
  /** Every complete line the child printed (a line cut short by a kill is left out). */
  lines: string[];
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  /** Resolves once the child has printed `count` lines; rejects if it ends before. */
  waitForLines(count: number): Promise<void>;
  /** Writes a line to the child's stdin. */
  send(line: string): void;
  kill(): void;
  /** Settles when the child has ended. */
  done: Promise<ChildResult>;
}

/** Starts `fixture`, a file name in test/storage/fixtures/. */
export function startChild(fixture: string, config: DatabaseConfig): Child {
  const script = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: repoRoot,
    env: { ...process.env, WEFT_TEST_DATABASE: JSON.stringify(config) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let ended = false;
  const waiters = new Set<() => void>();
  const completeLines = () => stdout.slice(0, stdout.lastIndexOf("\n") + 1).split("\n").filter((line) => line !== "");
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    stdout += chunk;
    for (const wake of waiters) wake();
  });
  child.stderr.on("data", (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.on("error", () => undefined); // the child may be gone: its exit tells the story
  const done = new Promise<ChildResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      ended = true;
      for (const wake of waiters) wake();
      resolve({ lines: completeLines(), stderr, code, signal });
    });
  });
  return {
    waitForLines: (count) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (completeLines().length >= count) {
            waiters.delete(check);
            resolve();
          } else if (ended) {
            waiters.delete(check);
            reject(new Error(`${fixture} ended after ${completeLines().length} of ${count} lines: ${stderr}`));
          }
        };
        waiters.add(check);
        check();
      }),
    send: (line) => {
      child.stdin.write(`${line}\n`);
    },
    kill: () => {
      child.kill("SIGKILL");
    },
    done,
  };
}

/** The database config a fixture was started with. */
export function childDatabaseConfig(): DatabaseConfig {
  const json = process.env.WEFT_TEST_DATABASE;
  if (json === undefined) throw new Error("WEFT_TEST_DATABASE is not set: this script is run by test/storage/child.ts");
  return JSON.parse(json) as DatabaseConfig;
}

/** In a fixture: prints "ready" and waits for the parent to send a line. */
export async function readyAndWaitForGo(): Promise<void> {
  process.stdout.write("ready\n");
  await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
  process.stdin.pause();
}
