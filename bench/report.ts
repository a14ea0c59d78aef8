// Collects the runs of every scenario and renders them: one row per scenario and contender (median of
// its runs), ratios against fetchmail and the physical limit, and the targets with their verdicts.
import os from 'node:os';

export interface Run {
  scenario: string;
  contender: string;
  messages: number;
  bytes: number;
  seconds: number;
  cpu: number;
  /** Busy CPU seconds of the whole machine during the run (servers and kernel included). */
  machineCpu: number;
  peakRssMb: number;
  verified: string;
  ok: boolean;
}

export interface Target {
  label: string;
  value: number;
  min?: number;
  max?: number;
  unit: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export interface Row {
  scenario: string;
  contender: string;
  runs: number;
  messages: number;
  msgsPerSec: number;
  mbPerSec: number;
  cpu: number;
  machineCpu: number;
  peakRssMb: number;
  allOk: boolean;
  verified: string;
}

export class Report {
  readonly runs: Run[] = [];
  readonly targets: Target[] = [];
  readonly notes: string[] = [];

  add(run: Run): void {
    this.runs.push(run);
  }

  row(scenario: string, contender: string): Row | undefined {
    const runs = this.runs.filter((r) => r.scenario === scenario && r.contender === contender);
    if (runs.length === 0) return undefined;
    return {
      scenario,
      contender,
      runs: runs.length,
      messages: median(runs.map((r) => r.messages)),
      msgsPerSec: median(runs.map((r) => r.messages / r.seconds)),
      mbPerSec: median(runs.map((r) => r.bytes / 1048576 / r.seconds)),
      cpu: median(runs.map((r) => r.cpu)),
      machineCpu: median(runs.map((r) => r.machineCpu)),
      peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
      allOk: runs.every((r) => r.ok),
      verified: runs.every((r) => r.ok) ? runs[0]!.verified : runs.find((r) => !r.ok)!.verified,
    };
  }

  /** Postbote's msgs/s divided by the contender's, both medians of this run. */
  ratio(scenario: string, contender: string): number | undefined {
    const p = this.row(scenario, 'postbote');
    const c = this.row(scenario, contender);
    return p && c ? p.msgsPerSec / c.msgsPerSec : undefined;
  }

  target(t: Target): void {
    this.targets.push(t);
  }

  /**
   * The goal for Postbote's msgs/s over a contender's in one scenario (0 when either did not run). A goal
   * not met gets a note with the CPU it leaves Postbote on this machine (cpuBudget).
   */
  ratioTarget(scenario: string, contender: string, min: number): void {
    const value = this.ratio(scenario, contender) ?? 0;
    this.target({ label: `${scenario}: Postbote ÷ ${contender}`, value, min, unit: '×' });
    const p = this.row(scenario, 'postbote');
    const c = this.row(scenario, contender);
    if (p && c && value > 0 && value < min) this.notes.push(cpuBudget(scenario, p, c, min));
  }

  markdown(header: string): string {
    const out = [
      header,
      '',
      '| scenario | contender | runs | msgs/run | msgs/s | MB/s | CPU s | peak RSS MB | Postbote ÷ this | verified |',
    ];
    out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    const seen = new Set<string>();
    for (const r of this.runs) {
      const key = `${r.scenario}\u0000${r.contender}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const row = this.row(r.scenario, r.contender)!;
      const ratio = r.contender === 'postbote' ? '' : fmt(this.ratio(r.scenario, r.contender), 'x');
      out.push(
        `| ${row.scenario} | ${row.contender} | ${row.runs} | ${row.messages} | ${fmt(row.msgsPerSec)} | ` +
          `${fmt(row.mbPerSec)} | ${fmt(row.cpu, '', 2)} | ${fmt(row.peakRssMb, '', 0)} | ${ratio} | ` +
          `${row.allOk ? '' : '**'}${row.verified}${row.allOk ? '' : '**'} |`,
      );
    }
    out.push('', '| target | measured | goal | met |', '| --- | ---: | ---: | --- |');
    for (const t of this.targets) {
      const goal = t.min !== undefined ? `≥ ${t.min}${t.unit}` : `≤ ${t.max}${t.unit}`;
      const met = (t.min === undefined || t.value >= t.min) && (t.max === undefined || t.value <= t.max);
      out.push(`| ${t.label} | ${fmt(t.value, t.unit, 2)} | ${goal} | ${met ? 'yes' : '**no**'} |`);
    }
    if (this.notes.length > 0) out.push('', ...this.notes.map((n) => `- ${n}`));
    return `${out.join('\n')}\n`;
  }
}

function fmt(n: number | undefined, unit = '', digits?: number): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  const d = digits ?? (Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2);
  return `${n.toFixed(d)}${unit}`;
}

/**
 * What a ratio goal leaves Postbote on this machine: the goal's wall time times the cores, less what the
 * rest of the machine (Dovecot, the sink, the kernel) used during Postbote's run, per message, beside
 * what Postbote used. A budget below Postbote's figure is CPU to save, whatever the threads do.
 */
export function cpuBudget(scenario: string, p: Row, c: Row, min: number, cores = os.cpus().length): string {
  const goalRate = min * c.msgsPerSec;
  const goalWall = p.messages / goalRate;
  const others = p.machineCpu - p.cpu;
  const budget = cores * goalWall - others;
  const us = (s: number) => `${Math.round((s / p.messages) * 1e6).toLocaleString('en')} µs`;
  return (
    `${scenario}, goal ${min}× ${c.contender}: ${Math.round(goalRate).toLocaleString('en')} msgs/s, the run in ` +
    `${goalWall.toFixed(2)} s; ${cores} cores give ${(cores * goalWall).toFixed(2)} CPU s, of which the ` +
    `servers and the kernel used ${others.toFixed(2)} during Postbote's run: ` +
    (budget > 0
      ? `${budget.toFixed(2)} CPU s left for Postbote, ${us(budget)} a message`
      : 'nothing left for Postbote') +
    `, against ${us(p.cpu)} measured.`
  );
}
