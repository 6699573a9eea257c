'use strict';
// Scenarios (a) and (b): 1000 messages over the topic's queues through the
// name server, tags TagA/TagB alternating, keys k<seq>, every third body
// 5000 bytes (compressed by ali-ons); a clustering push consumer with "*"
// gets all of them intact; a second group subscribed to "TagA" gets all TagA
// messages and nothing else.

const c = require('./lib/common');

const N = Number(process.env.KMQ_INTEROP_BASIC_COUNT || 1000);
const TOPIC = c.config.topics.main;
const G_ALL = 'kmq_interop_g_all';
const G_TAGA = 'kmq_interop_g_taga';

function head(list, n) {
  const l = list.slice(0, n || 10);
  return l.join('\n') + (list.length > l.length ? `\n... and ${list.length - l.length} more` : '');
}

c.runScenario('basic', async t => {
  const { version, Producer, Consumer, Message } = c.loadAliOns();
  t.ok(version === '3.12.0', `ali-ons version is 3.12.0 (found ${version})`);
  const errors = [];
  const seqs = Array.from({ length: N }, (_, i) => i);
  const runId = c.config.runId;

  const producer = new Producer(c.clientOptions({ producerGroup: 'kmq_interop_pg_basic' }));
  c.producerErrors(producer, 'producer', errors);
  let up = true;
  try {
    await c.withTimeout(producer.ready(), 20000, 'producer ready');
  } catch (err) {
    up = false;
    t.ok(false, 'producer starts', err.message);
  }
  if (up) t.ok(true, 'producer starts');

  const recAll = new c.Received(runId);
  const recTagA = new c.Received(runId);
  const consumerAll = new Consumer(c.clientOptions({
    consumerGroup: G_ALL,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  }));
  const consumerTagA = new Consumer(c.clientOptions({
    consumerGroup: G_TAGA,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  }));
  c.consumerErrors(consumerAll, G_ALL, errors);
  c.consumerErrors(consumerTagA, G_TAGA, errors);
  consumerAll.subscribe(TOPIC, '*', async (msg, mq) => { recAll.add(msg, mq); });
  consumerTagA.subscribe(TOPIC, 'TagA', async (msg, mq) => { recTagA.add(msg, mq); });

  // Both consumers share one ali-ons client (same clientId ip@pid): watch
  // what the broker returns to the TagA group's pulls, before ali-ons' own
  // tag check (mq_push_consumer.js drops non-matching tags client-side).
  const pulledForTagA = { found: 0, wrongTag: 0, samples: [] };
  const lists = new Map();
  c.wrapClientMethod(consumerTagA._mqClient, 'pullMessage', (args, r) => {
    const header = args[1];
    if (!r || header.consumerGroup !== G_TAGA || header.topic !== TOPIC) return;
    for (const m of r.msgFoundList || []) {
      pulledForTagA.found++;
      if (m.tags !== 'TagA') {
        pulledForTagA.wrongTag++;
        if (pulledForTagA.samples.length < 5) pulledForTagA.samples.push(`offset ${m.queueOffset} q${m.queueId} tags ${m.tags}`);
      }
    }
  });
  c.spyConsumerLists(consumerAll._mqClient, lists);

  let consumersUp = true;
  try {
    await c.withTimeout(Promise.all([ consumerAll.ready(), consumerTagA.ready() ]), 20000, 'consumers ready');
  } catch (err) {
    consumersUp = false;
    t.ok(false, 'two push consumers (clustering) start', `${err.message}\n${head(errors)}`);
  }
  if (consumersUp) t.ok(true, 'two push consumers (clustering) start');

  const allQ = Array.from({ length: c.config.queues }, (_, i) => i).join(',');
  const owned = await c.waitFor(() =>
    c.ownedQueues(consumerAll, TOPIC).join(',') === allQ &&
    c.ownedQueues(consumerTagA, TOPIC).join(',') === allQ, 20000);
  if (!t.ok(owned, `each group's only consumer is assigned all ${c.config.queues} queues`,
    `group ${G_ALL} owns [${c.ownedQueues(consumerAll, TOPIC)}], ${G_TAGA} owns [${c.ownedQueues(consumerTagA, TOPIC)}]\n` +
    `last GET_CONSUMER_LIST_BY_GROUP answers: ${JSON.stringify(Array.from(lists.entries()))}\n` +
    `(ali-ons assigns queues only if the 38 answer lists its clientId ${consumerAll._mqClient.clientId})\n` +
    head(errors))) {
    return;
  }
  if (!up) return;

  // ---- produce
  const t0 = Date.now();
  const sent = await c.sendAll(producer, Message, TOPIC, seqs, runId, { concurrency: 8, timeoutMs: 40000 });
  const s = c.summarizeSend(sent, seqs);
  c.log('sent %d messages in %d ms', sent.size, Date.now() - t0);
  t.ok(!s.failed.length, `all ${N} sends succeed`, head(s.failed));
  t.ok(!s.notOk.length, 'every send result is SEND_OK', head(s.notOk));
  const qs = Array.from(s.byQueue.keys()).sort((a, b) => a - b);
  t.ok(qs.join(',') === allQ, `sends spread over all ${c.config.queues} queues`,
    `per queue: ${JSON.stringify(Array.from(s.byQueue.entries()))}`);
  const badIds = [];
  for (const seq of seqs) {
    const e = sent.get(seq);
    if (e && e.ok && (!/^[0-9A-F]{32}$/.test(String(e.r.msgId)) || !Number.isFinite(e.r.queueOffset))) {
      badIds.push(`${seq}: msgId ${e.r.msgId}, queueOffset ${e.r.queueOffset}`);
    }
  }
  t.ok(!badIds.length, 'send results carry a 32-hex msgId and a numeric queueOffset', head(badIds));
  const okSeqs = seqs.filter(seq => sent.get(seq) && sent.get(seq).ok);
  const tagASeqs = okSeqs.filter(seq => c.tagFor(seq) === 'TagA');

  // ---- consume
  const allIn = await c.waitFor(() =>
    recAll.missing(okSeqs).length === 0 && recTagA.missing(tagASeqs).length === 0, 60000, 250);
  c.log('consumed in %d ms after the first send (complete: %s)', Date.now() - t0, allIn);
  await c.sleep(3000); // late extra deliveries would show up here

  // (a) group "*"
  const missAll = recAll.missing(okSeqs);
  t.ok(!missAll.length, `group "*" receives every one of the ${okSeqs.length} messages sent`,
    `${missAll.length} missing, first: ${missAll.slice(0, 20).join(' ')}; ` +
    `received ${recAll.total} deliveries; owned queues [${c.ownedQueues(consumerAll, TOPIC)}]\n${head(errors)}`);
  t.ok(!recAll.corrupt.length, 'group "*": no undecodable bodies',
    head(recAll.corrupt.map(d => `msgId ${d.msgId} keys ${d.keys}: ${d.why}`)));

  const problems = [];
  const compress = [];
  const crc = [];
  const queueMismatch = [];
  const firstTime = [];
  for (const seq of okSeqs) {
    const d = recAll.first(seq);
    if (!d) continue;
    for (const p of c.deliveryProblems(d, TOPIC, sent.get(seq).r)) problems.push(`seq ${seq}: ${p}`);
    compress.push(...c.compressionProblems(d));
    if (d.bodyOk) crc.push(...c.crcProblems(runId, d));
    if (d.mqQueueId !== Number(d.queueId)) queueMismatch.push(`seq ${seq}: record queueId ${d.queueId}, pulled from queue ${d.mqQueueId}`);
    if (d.reconsumeTimes !== 0) firstTime.push(`seq ${seq}: reconsumeTimes ${d.reconsumeTimes}`);
  }
  t.ok(!problems.length, 'group "*": body, tags, keys, topic, msgId, queueId and queueOffset as sent', head(problems));
  t.ok(!compress.length, 'bodies of 4096 bytes or more arrive with sysFlag bit 0 (compressed), smaller ones without',
    head(compress));
  t.ok(!crc.length, 'BODYCRC is the CRC32 of the stored (compressed) body', head(crc));
  t.ok(!queueMismatch.length, 'record QUEUEID equals the queue pulled', head(queueMismatch));
  t.ok(!firstTime.length, 'first deliveries have reconsumeTimes 0', head(firstTime));
  t.diag(`group "*": ${recAll.total} deliveries, ${recAll.duplicates()} duplicate(s) ` +
    '(allowed by at-least-once, unexpected in this steady state)');

  // (b) group "TagA"
  const missA = recTagA.missing(tagASeqs);
  t.ok(!missA.length, `group "TagA" receives every one of the ${tagASeqs.length} TagA messages`,
    `${missA.length} missing, first: ${missA.slice(0, 20).join(' ')}\n${head(errors)}`);
  const wrong = [];
  const problemsA = [];
  for (const [ seq, list ] of recTagA.bySeq) {
    if (c.tagFor(seq) !== 'TagA') wrong.push(`seq ${seq} tags ${list[0].tags}`);
    else if (sent.get(seq) && sent.get(seq).ok) {
      for (const p of c.deliveryProblems(list[0], TOPIC, sent.get(seq).r)) problemsA.push(`seq ${seq}: ${p}`);
    }
  }
  t.ok(!wrong.length, 'group "TagA" handler sees no TagB message', head(wrong));
  t.ok(!problemsA.length, 'group "TagA": body, tags, keys and ids as sent', head(problemsA));
  t.ok(pulledForTagA.wrongTag === 0,
    'broker filters by tag: pulls for the "TagA" subscription return no TagB records',
    `${pulledForTagA.wrongTag} of ${pulledForTagA.found} pulled records were not TagA: ${pulledForTagA.samples.join('; ')}`);
  t.diag(`group "TagA": ${recTagA.total} deliveries, ${recTagA.duplicates()} duplicate(s); ` +
    `${pulledForTagA.found} records pulled`);

  const closes = [];
  closes.push(await c.safeClose(consumerAll, G_ALL));
  closes.push(await c.safeClose(consumerTagA, G_TAGA));
  closes.push(await c.safeClose(producer, 'producer'));
  t.ok(closes.every(x => x.ok), 'consumers and producer close (UNREGISTER_CLIENT answered)',
    closes.filter(x => !x.ok).map(x => x.err.message).join('\n'));
});
