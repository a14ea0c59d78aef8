// Prometheus text exposition (format 0.0.4) of what the passes did: messages and bytes per mailbox,
// session durations, errors by code, target latency. Fed by the scheduler's watcher, kept in memory.
import type { PassEvent, PassSummary } from '../connector/mailbox-pass.js';
import type { Target } from '../delivery/target.js';
import { tlsHandshakes } from '../pop3/tls-resumption.js';

/** Session durations: a quick empty poll (~50 ms) up to a slow mailbox with big mail (10 min). */
const SESSION_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** One SMTP transaction on a LAN is milliseconds; a large message over a slow link is minutes. */
const TARGET_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

type Labels = Record<string, string>;

class Counter {
  readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels, by = 1): void {
    const key = JSON.stringify(labels);
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.values.set(key, entry);
  }
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) out.push(`${this.name}${fmt(labels)} ${value}`);
    return out;
  }
}

class Histogram {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {}
  observe(labels: Labels, value: number): void {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    this.buckets.forEach((le, i) => {
      if (value <= le) s.counts[i] = (s.counts[i] ?? 0) + 1;
    });
    s.sum += value;
    s.count++;
  }
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((le, i) => {
        out.push(`${this.name}_bucket${fmt({ ...s.labels, le: String(le) })} ${s.counts[i]}`);
      });
      out.push(`${this.name}_bucket${fmt({ ...s.labels, le: '+Inf' })} ${s.count}`);
      out.push(`${this.name}_sum${fmt(s.labels)} ${s.sum}`);
      out.push(`${this.name}_count${fmt(s.labels)} ${s.count}`);
    }
    return out;
  }
}

function fmt(labels: Labels): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`,
  );
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

export class Metrics {
  private readonly fetched = new Counter(
    'postbote_messages_fetched_total',
    'Messages fetched from the provider.',
  );
  private readonly delivered = new Counter(
    'postbote_messages_delivered_total',
    'Messages delivered to the target.',
  );
  private readonly deferred = new Counter(
    'postbote_messages_deferred_total',
    'Delivery attempts deferred (4xx, target down).',
  );
  private readonly quarantined = new Counter('postbote_messages_quarantined_total', 'Messages quarantined.');
  private readonly outcomes = new Counter(
    'postbote_message_outcomes_total',
    'Every message handled in a pass, by outcome (delivered, deferred, quarantined, duplicate, ...).',
  );
  private readonly bytes = new Counter('postbote_fetched_bytes_total', 'Bytes fetched from the provider.');
  private readonly sessions = new Counter('postbote_sessions_total', 'Mailbox sessions, by result.');
  private readonly errors = new Counter('postbote_errors_total', 'Failed sessions, by error code.');
  private readonly sessionSeconds = new Histogram(
    'postbote_session_duration_seconds',
    'Duration of a mailbox session.',
    SESSION_BUCKETS_S,
  );
  private readonly targetSeconds = new Histogram(
    'postbote_target_transaction_seconds',
    'Duration of one SMTP/LMTP transaction with the target, by result.',
    TARGET_BUCKETS_S,
  );

  onEvent(event: PassEvent): void {
    if (event.type === 'message') this.outcomes.inc({ mailbox: event.mailbox, outcome: event.outcome });
  }

  onPass(s: PassSummary): void {
    const mailbox = { mailbox: s.mailbox };
    this.fetched.inc(mailbox, s.fetched);
    this.delivered.inc(mailbox, s.delivered);
    this.deferred.inc(mailbox, s.deferred);
    this.quarantined.inc(mailbox, s.quarantined);
    this.bytes.inc(mailbox, s.bytes);
    this.sessions.inc({ ...mailbox, result: s.ok ? 'ok' : 'error' });
    if (s.error) this.errors.inc({ ...mailbox, code: s.error.code });
    this.sessionSeconds.observe(mailbox, Math.max(0, s.endedAt - s.startedAt) / 1000);
  }

  /** Times every transaction with the target; the pool stays as it is, only `send` is wrapped. */
  instrument(target: Target): void {
    const send = target.send.bind(target);
    target.send = async (envelope, body) => {
      const started = performance.now();
      let result = 'error';
      try {
        const r = await send(envelope, body);
        result = 'ok';
        return r;
      } finally {
        this.targetSeconds.observe({ result }, (performance.now() - started) / 1000);
      }
    };
  }

  render(gauges: Array<{ name: string; help: string; values: Array<[Labels, number]> }>): string {
    const lines = [
      ...this.fetched.render(),
      ...this.delivered.render(),
      ...this.deferred.render(),
      ...this.quarantined.render(),
      ...this.outcomes.render(),
      ...this.bytes.render(),
      ...this.sessions.render(),
      ...this.errors.render(),
      ...this.sessionSeconds.render(),
      ...this.targetSeconds.render(),
    ];
    lines.push(
      '# HELP postbote_source_tls_handshakes_total TLS handshakes with POP3 servers since start, by whether a session was resumed.',
      '# TYPE postbote_source_tls_handshakes_total counter',
      `postbote_source_tls_handshakes_total{resumed="true"} ${tlsHandshakes.resumed}`,
      `postbote_source_tls_handshakes_total{resumed="false"} ${tlsHandshakes.full}`,
    );
    for (const g of gauges) {
      lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
      for (const [labels, value] of g.values) lines.push(`${g.name}${fmt(labels)} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
