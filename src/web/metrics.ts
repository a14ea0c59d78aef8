// Prometheus metrics of what the passes did (messages and bytes per mailbox, session durations, errors
// by code, target latency, queues) plus prom-client's standard process and Node metrics. Each instance
// has its own registry, never prom-client's global one, so several servers (and tests) in one process
// keep their own counts. Fed by the scheduler's watcher and the target's transaction recorder.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PassEvent, PassSummary } from '../connector/mailbox-pass.js';
import type { Target, TransactionRecorder } from '../delivery/target.js';
import { tlsHandshakes } from '../pop3/tls-resumption.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Store } from '../store/types.js';

/** Session durations: a quick empty poll (~50 ms) up to a slow mailbox with big mail (10 min). */
const SESSION_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** One SMTP transaction on a LAN is milliseconds; a large message over a slow link is minutes. */
const TARGET_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** What the gauges read when scraped. */
export interface MetricsSources {
  store: Pick<Store, 'counts'>;
  target: Pick<Target, 'health'>;
  scheduler: Pick<Scheduler, 'statuses'>;
  /** This instance's name: every series carries it (several instances, one Prometheus job). */
  instance?: string;
}

/** Not `instance`: Prometheus sets that label itself to the scraped target (host:port). */
export const INSTANCE_LABEL = 'postbote_instance';

export class Metrics {
  private readonly registry = new Registry();
  private readonly fetched: Counter<'mailbox'>;
  private readonly delivered: Counter<'mailbox'>;
  private readonly deferred: Counter<'mailbox'>;
  private readonly quarantined: Counter<'mailbox'>;
  private readonly outcomes: Counter<'mailbox' | 'outcome'>;
  private readonly bytes: Counter<'mailbox'>;
  private readonly sessions: Counter<'mailbox' | 'result'>;
  private readonly errors: Counter<'mailbox' | 'code'>;
  private readonly sessionSeconds: Histogram<'mailbox'>;
  private readonly targetSeconds: Histogram<'result'>;
  /** Given to the target: it reports each transaction where it happens. */
  readonly recorder: TransactionRecorder;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    if (sources.instance) this.registry.setDefaultLabels({ [INSTANCE_LABEL]: sources.instance });
    collectDefaultMetrics({ register: this.registry });
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name, help, labelNames, registers });
    this.fetched = counter('postbote_messages_fetched_total', 'Messages fetched from the provider.', [
      'mailbox',
    ]);
    this.delivered = counter('postbote_messages_delivered_total', 'Messages delivered to the target.', [
      'mailbox',
    ]);
    this.deferred = counter(
      'postbote_messages_deferred_total',
      'Delivery attempts deferred (4xx, target down).',
      ['mailbox'],
    );
    this.quarantined = counter('postbote_messages_quarantined_total', 'Messages quarantined.', ['mailbox']);
    this.outcomes = counter(
      'postbote_message_outcomes_total',
      'Every message handled in a pass, by outcome (delivered, deferred, quarantined, duplicate, ...).',
      ['mailbox', 'outcome'],
    );
    this.bytes = counter('postbote_fetched_bytes_total', 'Bytes fetched from the provider.', ['mailbox']);
    this.sessions = counter('postbote_sessions_total', 'Mailbox sessions, by result.', ['mailbox', 'result']);
    this.errors = counter('postbote_errors_total', 'Failed sessions, by error code.', ['mailbox', 'code']);
    this.sessionSeconds = new Histogram({
      name: 'postbote_session_duration_seconds',
      help: 'Duration of a mailbox session.',
      labelNames: ['mailbox'],
      buckets: SESSION_BUCKETS_S,
      registers,
    });
    this.targetSeconds = new Histogram({
      name: 'postbote_target_transaction_seconds',
      help: 'Duration of one SMTP/LMTP transaction with the target, by result.',
      labelNames: ['result'],
      buckets: TARGET_BUCKETS_S,
      registers,
    });
    this.recorder = { transaction: (seconds, result) => this.targetSeconds.observe({ result }, seconds) };

    // Read when scraped: the POP3 client counts handshakes process-wide, the rest lives in its owner.
    new Counter({
      name: 'postbote_source_tls_handshakes_total',
      help: 'TLS handshakes with POP3 servers since start, by whether a session was resumed.',
      labelNames: ['resumed'],
      registers,
      collect() {
        this.reset();
        this.inc({ resumed: 'true' }, tlsHandshakes.resumed);
        this.inc({ resumed: 'false' }, tlsHandshakes.full);
      },
    });
    new Gauge({
      name: 'postbote_messages_in_state',
      help: 'Messages in the store by state (deferred and quarantined are the queues to watch).',
      labelNames: ['state'],
      registers,
      async collect() {
        this.reset();
        for (const [state, n] of Object.entries(await sources.store.counts())) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'postbote_target_up',
      help: '1 while the target accepts Postbote, 0 when it is down or refusing, -1 before the first try.',
      registers,
      collect() {
        const state = sources.target.health.state;
        this.set(state === 'ok' ? 1 : state === 'unknown' ? -1 : 0);
      },
    });
    new Gauge({
      name: 'postbote_mailbox_failing',
      help: '1 while the mailbox’s last session failed.',
      labelNames: ['mailbox'],
      registers,
      collect() {
        this.reset();
        for (const s of sources.scheduler.statuses())
          this.set({ mailbox: s.name }, s.state === 'failing' ? 1 : 0);
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Records the target's transactions until the returned function is called. */
  watchTarget(target: Pick<Target, 'record'>): () => void {
    return target.record(this.recorder);
  }

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

  /** The text exposition format Prometheus scrapes. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
