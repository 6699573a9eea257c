'use strict';
// Scenario (d): a consumer consumes half of the messages and closes (ali-ons
// persists its offsets with UPDATE_CONSUMER_OFFSET and unregisters); a new
// consumer instance of the same group resumes from the committed offsets:
// nothing is missing, and nothing the first consumer had finished comes again
// (at-least-once only allows the one message whose handler was still running
// when the first consumer closed).
//
// To make "half" exact, the first consumer's handler blocks on message
// HALF + 1 until the consumer is closed. ali-ons consumes one message at a
// time per topic (parallelConsumeLimit 1), so nothing else is consumed or
// committed meanwhile.

const c = require('./lib/common');

const N = 400;
const HALF = N / 2;
const TOPIC = c.config.topics.restart;
const GROUP = 'kmq_interop_g_restart';
const SLACK = Number(process.env.KMQ_INTEROP_RESTART_DUP_SLACK || 0);

function head(list, n) {
  const l = list.slice(0, n || 10);
  return l.join('\n') + (list.length > l.length ? `\n... and ${list.length - l.length} more` : '');
}

c.runScenario('restart', async t => {
  const { Producer, Consumer, Message } = c.loadAliOns();
  const runId = c.config.runId;
  const errors = [];
  const seqs = Array.from({ length: N }, (_, i) => i);

  const producer = new Producer(c.clientOptions({ producerGroup: 'kmq_interop_pg_restart' }));
  c.producerErrors(producer, 'producer', errors);
  try {
    await c.withTimeout(producer.ready(), 20000, 'producer ready');
  } catch (err) {
    t.ok(false, 'producer starts', err.message);
    return;
  }
  const sent = await c.sendAll(producer, Message, TOPIC, seqs, runId, { concurrency: 8, timeoutMs: 30000 });
  const s = c.summarizeSend(sent, seqs);
  if (!t.ok(!s.failed.length, `all ${N} sends succeed before any consumer starts`, head(s.failed))) return;

  // ---- first consumer: completes HALF messages, blocks on the next one
  const rec1 = new c.Received(runId);
  const completed1 = new Set();
  let hung = null;
  let release;
  const gate = new Promise(r => { release = r; });
  let reachedHalf;
  const halfway = new Promise(r => { reachedHalf = r; });
  const c1 = new Consumer(c.clientOptions({
    consumerGroup: GROUP,
    instanceName: 'kmq-restart-1',
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  }));
  c.consumerErrors(c1, 'consumer 1', errors);
  c1.subscribe(TOPIC, '*', async (msg, mq) => {
    const d = rec1.add(msg, mq);
    if (completed1.size >= HALF) {
      if (hung === null) hung = d;
      reachedHalf();
      await gate;
      return;
    }
    completed1.add(d.seq);
  });
  try {
    await c.withTimeout(c1.ready(), 20000, 'consumer 1 ready');
  } catch (err) {
    t.ok(false, 'first consumer starts', err.message);
    return;
  }
  const half = await c.withTimeout(halfway, Math.max(1000, Math.min(40000, c.remaining() - 30000)), 'half consumed')
    .then(() => true, () => false);
  if (!t.ok(half, `first consumer completes ${HALF} messages`,
    `completed ${completed1.size}; owned queues [${c.ownedQueues(c1, TOPIC)}]\n${head(errors)}`)) {
    release();
    return;
  }
  // committed offsets per queue = one past the last completed offset
  const committed = new Map();
  for (const seq of completed1) {
    const d = rec1.first(seq);
    const q = Number(d.queueId);
    committed.set(q, Math.max(committed.has(q) ? committed.get(q) : 0, Number(d.queueOffset) + 1));
  }
  const closed = await c.safeClose(c1, 'consumer 1', 15000);
  release();
  t.ok(closed.ok, 'first consumer closes (offsets persisted, UNREGISTER_CLIENT answered)',
    closed.ok ? '' : closed.err.message);
  t.diag(`first consumer: ${completed1.size} completed, in-flight at close: seq ${hung && hung.seq}; ` +
    `offsets it committed: ${JSON.stringify(Array.from(committed.entries()).sort())}`);

  // ---- second consumer instance of the same group
  const rec2 = new c.Received(runId);
  const c2 = new Consumer(c.clientOptions({
    consumerGroup: GROUP,
    instanceName: 'kmq-restart-2',
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  }));
  c.consumerErrors(c2, 'consumer 2', errors);
  const lists = new Map();
  c.spyConsumerLists(c2._mqClient, lists);
  c2.subscribe(TOPIC, '*', async (msg, mq) => { rec2.add(msg, mq); });
  try {
    await c.withTimeout(c2.ready(), 20000, 'consumer 2 ready');
  } catch (err) {
    t.ok(false, 'second consumer starts', err.message);
    return;
  }
  const okSeqs = seqs;
  const covered = seq => completed1.has(seq) || rec2.has(seq);
  await c.waitFor(() => okSeqs.every(covered), 40000, 250);
  await c.sleep(3000);

  const missing = okSeqs.filter(seq => !covered(seq));
  t.ok(!missing.length, 'no gap: every message is completed by the first consumer or received by the second',
    `${missing.length} missing, first: ${missing.slice(0, 20).join(' ')}; ` +
    `second consumer owns [${c.ownedQueues(c2, TOPIC)}]; last 38 answers ${JSON.stringify(Array.from(lists.entries()))}\n` +
    head(errors));
  const again = Array.from(completed1).filter(seq => rec2.has(seq)).sort((a, b) => a - b);
  t.ok(again.length <= SLACK,
    `second consumer does not repeat what the first completed (${again.length} repeated, allowed ${SLACK})`,
    `repeated: ${again.slice(0, 30).join(' ')}${again.length > 30 ? ' ...' : ''}` +
    (again.length >= HALF ? '\n(all of them: the committed offsets were not used)' : ''));
  t.ok(hung !== null && rec2.has(hung.seq),
    'the message in flight at close is delivered again (at-least-once)',
    hung ? `seq ${hung.seq} not received by the second consumer` : 'no in-flight message recorded');

  const resumeProblems = [];
  const firstOffset = new Map();
  for (const list of rec2.bySeq.values()) {
    const d = list[0];
    const q = Number(d.queueId);
    const off = Number(d.queueOffset);
    if (!firstOffset.has(q) || off < firstOffset.get(q)) firstOffset.set(q, off);
  }
  for (const [ q, off ] of firstOffset) {
    const want = committed.has(q) ? committed.get(q) : 0;
    if (off !== want) resumeProblems.push(`queue ${q}: first offset received ${off}, committed ${want}`);
  }
  t.ok(!resumeProblems.length, 'second consumer starts each queue at the committed offset', head(resumeProblems));

  const integrity = [];
  for (const [ seq, list ] of rec2.bySeq) {
    for (const p of c.deliveryProblems(list[0], TOPIC, sent.get(seq).r)) integrity.push(`seq ${seq}: ${p}`);
  }
  t.ok(!integrity.length && !rec2.corrupt.length, 'second consumer: bodies, tags, keys and ids intact',
    head(integrity.concat(rec2.corrupt.map(d => `undecodable body msgId ${d.msgId}: ${d.why}`))));
  t.diag(`second consumer: ${rec2.total} deliveries, ${rec2.duplicates()} duplicate(s) within itself`);

  const closes = [ await c.safeClose(c2, 'consumer 2'), await c.safeClose(producer, 'producer') ];
  t.ok(closes.every(x => x.ok), 'second consumer and producer close',
    closes.filter(x => !x.ok).map(x => x.err.message).join('\n'));
});
