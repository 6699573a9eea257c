'use strict';
// Scenario (e): two consumers of one group split the queues. The first
// consumer starts alone and takes every queue; the second joins; once the
// rebalance settles their queue sets are disjoint and cover the topic; 400
// messages then go to exactly one of them each, both get some. Last, the
// second consumer closes and the first takes all queues back.

const c = require('./lib/common');

const N = 400;
const N2 = 40;
const TOPIC = c.config.topics.split;
const GROUP = 'kmq_interop_g_split';

function head(list, n) {
  const l = list.slice(0, n || 10);
  return l.join('\n') + (list.length > l.length ? `\n... and ${list.length - l.length} more` : '');
}

c.runScenario('split', async t => {
  const { Producer, Consumer, Message } = c.loadAliOns();
  const runId = c.config.runId;
  const errors = [];
  const allQ = Array.from({ length: c.config.queues }, (_, i) => i);

  const producer = new Producer(c.clientOptions({ producerGroup: 'kmq_interop_pg_split' }));
  c.producerErrors(producer, 'producer', errors);
  const lists = new Map();

  function makeConsumer(name, rec) {
    const consumer = new Consumer(c.clientOptions({
      consumerGroup: GROUP,
      instanceName: name,
      consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    }));
    c.consumerErrors(consumer, name, errors);
    c.spyConsumerLists(consumer._mqClient, lists);
    consumer.subscribe(TOPIC, '*', async (msg, mq) => { rec.add(msg, mq, { by: name }); });
    return consumer;
  }

  const rec1 = new c.Received(runId);
  const rec2 = new c.Received(runId);
  const e1 = makeConsumer('kmq-split-1', rec1);
  try {
    await c.withTimeout(Promise.all([ producer.ready(), e1.ready() ]), 20000, 'producer and consumer 1 ready');
  } catch (err) {
    t.ok(false, 'producer and first consumer start', err.message);
    return;
  }
  if (!t.ok(await c.waitFor(() => c.ownedQueues(e1, TOPIC).join(',') === allQ.join(','), 20000),
    'first consumer alone is assigned all queues',
    `owns [${c.ownedQueues(e1, TOPIC)}]; 38 answers ${JSON.stringify(Array.from(lists.entries()))}\n${head(errors)}`)) {
    return;
  }

  const e2 = makeConsumer('kmq-split-2', rec2);
  try {
    await c.withTimeout(e2.ready(), 20000, 'consumer 2 ready');
  } catch (err) {
    t.ok(false, 'second consumer starts', err.message);
    return;
  }
  const split = () => {
    const a = c.ownedQueues(e1, TOPIC);
    const b = c.ownedQueues(e2, TOPIC);
    const overlap = a.filter(q => b.includes(q));
    const union = Array.from(new Set(a.concat(b))).sort((x, y) => x - y);
    return a.length > 0 && b.length > 0 && !overlap.length && union.join(',') === allQ.join(',');
  };
  let settled = await c.waitFor(split, 25000, 200);
  if (settled) {
    await c.sleep(2500); // must stay split over a few rebalance rounds
    settled = split();
  }
  const own1 = c.ownedQueues(e1, TOPIC);
  const own2 = c.ownedQueues(e2, TOPIC);
  if (!t.ok(settled, 'after the second consumer joins, the queues are split: disjoint, covering all, both non-empty',
    `consumer 1 owns [${own1}], consumer 2 owns [${own2}]; last 38 answers ${JSON.stringify(Array.from(lists.entries()))}\n` +
    head(errors))) {
    return;
  }
  t.diag(`consumer 1 owns [${own1}], consumer 2 owns [${own2}]`);

  const seqs = Array.from({ length: N }, (_, i) => i);
  const sent = await c.sendAll(producer, Message, TOPIC, seqs, runId, { concurrency: 8, timeoutMs: 30000 });
  const s = c.summarizeSend(sent, seqs);
  t.ok(!s.failed.length, `all ${N} sends succeed`, head(s.failed));
  const okSeqs = seqs.filter(seq => sent.get(seq) && sent.get(seq).ok);
  const covered = seq => rec1.has(seq) || rec2.has(seq);
  await c.waitFor(() => okSeqs.every(covered), 40000, 250);
  await c.sleep(2000);

  const missing = okSeqs.filter(seq => !covered(seq));
  t.ok(!missing.length, 'together the two consumers receive every message',
    `${missing.length} missing, first: ${missing.slice(0, 20).join(' ')}\n${head(errors)}`);
  t.ok(rec1.bySeq.size > 0 && rec2.bySeq.size > 0, 'each consumer receives some messages',
    `consumer 1: ${rec1.bySeq.size}, consumer 2: ${rec2.bySeq.size}`);
  const q1 = new Set();
  const q2 = new Set();
  for (const l of rec1.bySeq.values()) q1.add(Number(l[0].queueId));
  for (const l of rec2.bySeq.values()) q2.add(Number(l[0].queueId));
  const both = Array.from(q1).filter(q => q2.has(q));
  t.ok(!both.length, 'no queue delivers to both consumers',
    `queues seen by consumer 1 [${Array.from(q1)}], by consumer 2 [${Array.from(q2)}]`);
  const twice = okSeqs.filter(seq => rec1.has(seq) && rec2.has(seq));
  t.ok(!twice.length, 'no message reaches both consumers', `${twice.length}: ${twice.slice(0, 20).join(' ')}`);
  t.ok(c.ownedQueues(e1, TOPIC).join(',') === own1.join(',') && c.ownedQueues(e2, TOPIC).join(',') === own2.join(','),
    'assignment stays stable while messages flow',
    `now consumer 1 [${c.ownedQueues(e1, TOPIC)}], consumer 2 [${c.ownedQueues(e2, TOPIC)}]`);
  const integrity = [];
  for (const rec of [ rec1, rec2 ]) {
    for (const [ seq, l ] of rec.bySeq) {
      for (const p of c.deliveryProblems(l[0], TOPIC, sent.get(seq).r)) integrity.push(`seq ${seq}: ${p}`);
    }
  }
  t.ok(!integrity.length, 'bodies, tags, keys and ids intact', head(integrity));

  // ---- the second consumer leaves; the first takes every queue back
  const closed2 = await c.safeClose(e2, 'consumer 2', 15000);
  t.ok(closed2.ok, 'second consumer closes', closed2.ok ? '' : closed2.err.message);
  const back = await c.waitFor(() => c.ownedQueues(e1, TOPIC).join(',') === allQ.join(','), 20000);
  if (t.ok(back, 'after the second consumer leaves, the first is assigned all queues again',
    `consumer 1 owns [${c.ownedQueues(e1, TOPIC)}]; last 38 answers ${JSON.stringify(Array.from(lists.entries()))}`)) {
    const more = Array.from({ length: N2 }, (_, i) => N + i);
    const sent2 = await c.sendAll(producer, Message, TOPIC, more, runId, { concurrency: 8, timeoutMs: 15000 });
    const ok2 = more.filter(seq => sent2.get(seq) && sent2.get(seq).ok);
    await c.waitFor(() => ok2.every(seq => rec1.has(seq)), 20000, 250);
    const miss2 = ok2.filter(seq => !rec1.has(seq));
    t.ok(ok2.length === N2 && !miss2.length, `the first consumer then receives all ${N2} new messages`,
      `sent ${ok2.length}/${N2}; missing ${miss2.join(' ')}`);
  }

  const closes = [ await c.safeClose(e1, 'consumer 1'), await c.safeClose(producer, 'producer') ];
  t.ok(closes.every(x => x.ok), 'first consumer and producer close', closes.filter(x => !x.ok).map(x => x.err.message).join('\n'));
});
