// Where the machine's CPU went during a benchmark phase: the whole machine's busy share (from
// /proc/stat) and each process group's (a root process and all its descendants, from /proc/<pid>/stat),
// in cores. This is what shows a figure is bounded by the CPU and by whom, rather than asserted.
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

interface ProcessTicks {
  ppid: number;
  ticks: number;
}

interface Snapshot {
  atMs: number;
  machineBusy: number;
  machineTotal: number;
  processes: Map<number, ProcessTicks>;
}

const CLOCK_TICKS_PER_SECOND = 100;

function readProcesses(): Map<number, ProcessTicks> {
  const processes = new Map<number, ProcessTicks>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may contain spaces and parentheses: the fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      processes.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The process exited between the listing and the read.
    }
  }
  return processes;
}

function snapshot(): Snapshot {
  const [line] = readFileSync('/proc/stat', 'utf8').split('\n');
  const values = line!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { atMs: Date.now(), machineBusy: total - idle, machineTotal: total, processes: readProcesses() };
}

function descendantsOf(root: number, processes: Map<number, ProcessTicks>): Set<number> {
  const found = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, info] of processes) {
      if (!found.has(pid) && found.has(info.ppid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return found;
}

export interface CpuReport {
  /** Share of all cores busy, 0–1. */
  machineBusy: number;
  cores: number;
  /** Cores used by each group over the phase (1.0 = one core fully busy). */
  byGroup: Record<string, number>;
}

/**
 * Starts measuring; `stop()` answers with the CPU use since. `groups` names root pids (resolved at
 * stop, so children started during the phase count; work of processes that exited is not seen).
 */
export function measureCpu(groups: () => Record<string, number | undefined>) {
  if (process.platform !== 'linux') return { stop: (): CpuReport | undefined => undefined };
  const start = snapshot();
  return {
    stop(): CpuReport {
      const end = snapshot();
      const seconds = (end.atMs - start.atMs) / 1000;
      const byGroup: Record<string, number> = {};
      const counted = new Set<number>();
      for (const [name, root] of Object.entries(groups())) {
        if (root === undefined) continue;
        let ticks = 0;
        for (const pid of descendantsOf(root, end.processes)) {
          if (counted.has(pid)) continue;
          counted.add(pid);
          ticks += (end.processes.get(pid)?.ticks ?? 0) - (start.processes.get(pid)?.ticks ?? 0);
        }
        byGroup[name] = Math.round((ticks / CLOCK_TICKS_PER_SECOND / seconds) * 100) / 100;
      }
      const busy = (end.machineBusy - start.machineBusy) / Math.max(1, end.machineTotal - start.machineTotal);
      return { machineBusy: Math.round(busy * 1000) / 1000, cores: cpus().length, byGroup };
    },
  };
}

/** The postmaster's pid from its data directory. */
export function postmasterPid(dataDir: string): number | undefined {
  try {
    return Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}
