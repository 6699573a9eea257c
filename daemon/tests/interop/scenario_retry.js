'use strict';
// Scenario (c): a handler asks for a retry once. Three messages fail on
// their first delivery: seq 3 (the handler throws), seq 7 (the handler
// returns Consumer.ACTION_RETRY) and seq 12 (throws; a 5000-byte body, so
// the retried copy must keep the compressed flag). ali-ons sends each back
// with CONSUMER_SEND_MSG_BACK (36); the broker re-delivers it through
// %RETRY%<group> and the message must come back to the same handler with
// reconsumeTimes 1, body, tags and keys intact.

const c = require('./lib/common');

const N = 24;
const TOPIC = c.config.topics.retry;
const GROUP = 'kmq_interop_g_retry';
const FAIL = new Map([ [ 3, 'throw' ], [ 7, 'ACTION_RETRY' ], [ 12, 'throw' ] ]);

function head(list, n) {
  const l = list.slice(0, n || 10);
  return l.join('\n') + (list.length > l.length ? `\n... and ${list.length - l.length} more` : '');
}

c.runScenario('retry', async t => {
  const { Producer, Consumer, Message } = c.loadAliOns();
  const runId = c.config.runId;
  const errors = [];
  const seqs = Array.from({ length: N }, (_, i) => i);

  const producer = new Producer(c.clientOptions({ producerGroup: 'kmq_interop_pg_retry' }));
  c.producerErrors(producer, 'producer', errors);
  const rec = new c.Received(runId);
  const failedOnce = new Map(); // seq -> time of the failing delivery
  const consumer = new Consumer(c.clientOptions({
    consumerGroup: GROUP,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  }));
  c.consumerErrors(consumer, GROUP, errors);
  consumer.subscribe(TOPIC, '*', async msg => {
    const d = rec.add(msg, null);
    const how = FAIL.get(d.seq);
    if (how && d.bodyOk && !failedOnce.has(d.seq)) {
      failedOnce.set(d.seq, Date.now());
      c.log('failing seq %d on purpose (%s), msgId %s, reconsumeTimes %d', d.seq, how, msg.msgId, msg.reconsumeTimes);
      if (how === 'throw') throw new Error(`kmq interop: deliberate failure of seq ${d.seq}`);
      return Consumer.ACTION_RETRY;
    }
    return undefined;
  });

  const sendBacks = [];
  c.wrapClientMethod(consumer._mqClient, 'consumerSendMessageBack', (args, r, err) => {
    const msg = args[1];
    sendBacks.push({ commitLogOffset: msg.commitLogOffset, msgId: msg.msgId, keys: msg.keys, group: args[2],
      delayLevel: args[3], ok: !err, err: err ? `${err.message} (code ${err.code})` : null });
  });
  const lists = new Map();
  c.spyConsumerLists(consumer._mqClient, lists);

  try {
    await c.withTimeout(Promise.all([ producer.ready(), consumer.ready() ]), 20000, 'clients ready');
    t.ok(true, 'producer and consumer start');
  } catch (err) {
    t.ok(false, 'producer and consumer start', `${err.message}\n${head(errors)}`);
    return;
  }
  const allQ = Array.from({ length: c.config.queues }, (_, i) => i).join(',');
  if (!t.ok(await c.waitFor(() => c.ownedQueues(consumer, TOPIC).join(',') === allQ, 20000),
    'consumer is assigned all queues of the topic',
    `owns [${c.ownedQueues(consumer, TOPIC)}]; 38 answers ${JSON.stringify(Array.from(lists.entries()))}`)) {
    return;
  }

  const sent = await c.sendAll(producer, Message, TOPIC, seqs, runId, { concurrency: 4, timeoutMs: 20000 });
  const s = c.summarizeSend(sent, seqs);
  if (!t.ok(!s.failed.length, `all ${N} sends succeed`, head(s.failed))) return;

  const retried = seq => (rec.bySeq.get(seq) || []).some(d => d.reconsumeTimes >= 1);
  const done = await c.waitFor(() => rec.missing(seqs).length === 0 &&
    Array.from(FAIL.keys()).every(retried), 70000, 250);
  c.log('retry wait complete: %s', done);
  await c.sleep(4000); // a third delivery would show up here

  t.ok(!rec.missing(seqs).length, 'every message is delivered',
    `missing ${rec.missing(seqs).join(' ')}\n${head(errors)}`);
  const firstProblems = [];
  for (const seq of seqs) {
    const d = rec.first(seq);
    if (d) {
      for (const p of c.deliveryProblems(d, TOPIC, sent.get(seq).r)) firstProblems.push(`seq ${seq}: ${p}`);
    }
  }
  t.ok(!firstProblems.length, 'first deliveries intact', head(firstProblems));

  const failedSeqs = Array.from(FAIL.keys());
  const sb = failedSeqs.map(seq => {
    const r = sent.get(seq) && sent.get(seq).ok ? rec.first(seq) : null;
    return r ? sendBacks.find(x => x.commitLogOffset === r.commitLogOffset) : null;
  });
  t.ok(sb.every(x => x && x.ok),
    'each failed message is sent back with CONSUMER_SEND_MSG_BACK (36) and the broker answers SUCCESS',
    `send-backs seen: ${JSON.stringify(sendBacks)}\n` +
    '(when 36 fails, ali-ons falls back to sending a copy to %RETRY%<group> itself)');

  for (const seq of failedSeqs) {
    const list = rec.bySeq.get(seq) || [];
    const again = list.filter(d => d.reconsumeTimes >= 1);
    const how = FAIL.get(seq);
    const label = `seq ${seq} (${how}, ${c.sizeFor(seq)} bytes)`;
    if (!t.ok(again.length >= 1 && again[0].reconsumeTimes === 1,
      `${label} comes back with reconsumeTimes 1`,
      `deliveries: ${JSON.stringify(list.map(d => ({ reconsumeTimes: d.reconsumeTimes, topic: d.topic, msgId: d.msgId })))}\n${head(errors)}`)) {
      continue;
    }
    const d = again[0];
    const p = c.deliveryProblems(d, TOPIC, null); // ids differ on the retry copy
    t.ok(!p.length, `${label}: retried copy has body, tags, keys intact and is handed to the ${TOPIC} handler`,
      p.join('\n'));
    t.ok(d.props.RETRY_TOPIC === TOPIC, `${label}: retried record carries property RETRY_TOPIC=${TOPIC}`,
      `properties: ${JSON.stringify(d.props)}`);
    if (c.sizeFor(seq) >= c.COMPRESS_AT) {
      t.ok((d.sysFlag & 1) === 1, `${label}: retried record keeps sysFlag bit 0 (compressed body)`,
        `sysFlag ${d.sysFlag}`);
    }
    const first = list.find(x => x.reconsumeTimes === 0);
    t.diag(`${label}: back after ${d.at - failedOnce.get(seq)} ms, msgId ${d.msgId}, ` +
      `ORIGIN_MESSAGE_ID ${d.props.ORIGIN_MESSAGE_ID} (first delivery msgId ${first ? first.msgId : '?'})`);
    t.ok(!list.some(x => x.reconsumeTimes >= 2) && again.length === 1,
      `${label} is not delivered again after the successful retry`,
      `deliveries: ${JSON.stringify(list.map(x => x.reconsumeTimes))}`);
  }

  const extra = seqs.filter(seq => !FAIL.has(seq) && (rec.bySeq.get(seq) || []).length > 1);
  t.diag(`messages that succeeded first time but were delivered again: ${extra.length ? extra.join(' ') : 'none'}`);

  const closes = [ await c.safeClose(consumer, GROUP), await c.safeClose(producer, 'producer') ];
  t.ok(closes.every(x => x.ok), 'consumer and producer close', closes.filter(x => !x.ok).map(x => x.err.message).join('\n'));
});
