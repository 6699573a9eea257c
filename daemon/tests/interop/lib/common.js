'use strict';
// Shared pieces of the interop scenarios: TAP output, configuration from the
// environment, the ali-ons client options, message bodies that carry their
// own sequence number and checksum, bounded waits, and a few spies on
// ali-ons internals (documented in docs/ali-ons-notes.md).
//
// stdout carries only unnumbered TAP lines ("ok - ...", "not ok - ...",
// "# ..."); run.sh numbers them. Everything else (ali-ons logs) goes to
// stderr, which run.sh keeps in a log file.

const crypto = require('crypto');
const util = require('util');
const zlib = require('zlib');

// ------------------------------------------------------------------ config

function env(name, dflt) {
  const v = process.env[name];
  return v === undefined || v === '' ? dflt : v;
}

const config = {
  namesrv: env('KMQ_INTEROP_NAMESRV', '127.0.0.1:19876'),
  runId: env('KMQ_INTEROP_RUN_ID', crypto.randomBytes(4).toString('hex')),
  // Wall-clock budget of this scenario process; run.sh also enforces it
  // from outside with timeout(1).
  budgetMs: Number(env('KMQ_INTEROP_BUDGET_MS', '120000')),
  topics: {
    main: env('KMQ_INTEROP_TOPIC_MAIN', 'kmq_interop_main'),
    retry: env('KMQ_INTEROP_TOPIC_RETRY', 'kmq_interop_retry'),
    restart: env('KMQ_INTEROP_TOPIC_RESTART', 'kmq_interop_restart'),
    split: env('KMQ_INTEROP_TOPIC_SPLIT', 'kmq_interop_split'),
  },
  queues: Number(env('KMQ_INTEROP_QUEUES', '4')),
};

const startedAt = Date.now();
// Leave 8 s of the budget for closing clients and printing results.
const deadline = startedAt + config.budgetMs - 8000;

function remaining() {
  return Math.max(0, deadline - Date.now());
}

// -------------------------------------------------------------------- TAP

class Tap {
  constructor(scenario) {
    this.scenario = scenario;
    this.count = 0;
    this.failed = 0;
  }

  ok(cond, name, detail) {
    this.count++;
    if (!cond) this.failed++;
    process.stdout.write(`${cond ? 'ok' : 'not ok'} - ${this.scenario}: ${name}\n`);
    if (!cond && detail !== undefined && detail !== null && detail !== '') this.diag(detail);
    return !!cond;
  }

  diag(msg) {
    const text = typeof msg === 'string' ? msg : util.inspect(msg, { depth: 4, breakLength: 120 });
    for (const line of text.split('\n')) process.stdout.write(`# ${line}\n`);
  }
}

// ----------------------------------------------------------------- logging

function ts() {
  return new Date().toISOString();
}

// ali-ons calls logger.info/warn/error/debug with printf-style arguments.
const logger = {
  debug() {},
  info(...args) { process.stderr.write(`${ts()} INFO  ${util.format(...args)}\n`); },
  warn(...args) { process.stderr.write(`${ts()} WARN  ${util.format(...args)}\n`); },
  error(...args) { process.stderr.write(`${ts()} ERROR ${util.format(...args)}\n`); },
};

function log(...args) {
  process.stderr.write(`${ts()} TEST  ${util.format(...args)}\n`);
}

// ---------------------------------------------------------------- ali-ons

function loadAliOns() {
  const pkg = require('ali-ons/package.json');
  const ons = require('ali-ons');
  return { version: pkg.version, Producer: ons.Producer, Consumer: ons.Consumer, Message: ons.Message };
}

// Options for every ali-ons client of the suite. The intervals are shorter
// than ali-ons' defaults (route 30 s, heartbeat 30 s, rebalance 10 s, offset
// persist 5 s) so that the suite runs in minutes; the protocol is the same.
function clientOptions(extra) {
  return Object.assign({
    nameSrv: config.namesrv,
    httpclient: {}, // required by ali-ons, unused with nameSrv
    clientIP: '127.0.0.1',
    logger,
    pollNameServerInteval: 2000,
    heartbeatBrokerInterval: 5000,
    rebalanceInterval: 1000,
    persistConsumerOffsetInterval: 1000,
  }, extra || {});
}

// ------------------------------------------------------------------ bodies
//
// Body = fixed-width ASCII header + payload. The header names the run, the
// sequence number, the total length and the SHA-256 of the payload:
//   "KMQ1 <run id, 8 hex> <seq, 8 digits> <len, 6 digits> <sha256 hex>\n"

const HEADER_LEN = 'KMQ1 '.length + 8 + 1 + 8 + 1 + 6 + 1 + 64 + 1;
const LARGE = 5000;
const COMPRESS_AT = 4096; // ali-ons compressMsgBodyOverHowmuch (>=)

function payloadBytes(runId, seq, n) {
  // xorshift32 seeded from run id and sequence; mixes binary and text runs
  let x = (parseInt(runId.slice(0, 8), 16) ^ Math.imul(seq + 1, 0x9e3779b1)) >>> 0;
  if (x === 0) x = 0x12345678;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = (i & 63) < 40 ? (x & 0xff) : 0x41 + (i % 26);
  }
  return out;
}

// Size plan shared by all scenarios: every third message is 5000 bytes (the
// client compresses it), plus the two sizes either side of the threshold.
function sizeFor(seq) {
  if (seq === 1) return COMPRESS_AT - 1;
  if (seq === 5) return COMPRESS_AT;
  if (seq % 3 === 0) return LARGE;
  return HEADER_LEN + 16 + ((seq * 37) % 900);
}

function tagFor(seq) {
  return seq % 2 === 0 ? 'TagA' : 'TagB';
}

function keyFor(seq) {
  return `k${seq}`;
}

function makeBody(runId, seq, size) {
  const n = size - HEADER_LEN;
  if (n < 0) throw new Error(`body size ${size} below header length ${HEADER_LEN}`);
  const payload = payloadBytes(runId, seq, n);
  const sha = crypto.createHash('sha256').update(payload).digest('hex');
  const header = `KMQ1 ${runId.slice(0, 8).padEnd(8, '0')} ${String(seq).padStart(8, '0')} ` +
    `${String(size).padStart(6, '0')} ${sha}\n`;
  if (header.length !== HEADER_LEN) throw new Error('header length mismatch');
  return Buffer.concat([ Buffer.from(header, 'ascii'), payload ]);
}

// Returns { seq, ok, why }.
function checkBody(runId, body) {
  if (!Buffer.isBuffer(body)) return { seq: -1, ok: false, why: `body is ${typeof body}` };
  if (body.length < HEADER_LEN) return { seq: -1, ok: false, why: `body only ${body.length} bytes` };
  const header = body.subarray(0, HEADER_LEN).toString('latin1');
  const m = /^KMQ1 ([0-9a-f]{8}) (\d{8}) (\d{6}) ([0-9a-f]{64})\n$/.exec(header);
  if (!m) return { seq: -1, ok: false, why: `bad header ${JSON.stringify(header.slice(0, 40))}` };
  const seq = Number(m[2]);
  if (m[1] !== runId.slice(0, 8).padEnd(8, '0')) return { seq, ok: false, why: `foreign run id ${m[1]}`, foreign: true };
  if (Number(m[3]) !== body.length) return { seq, ok: false, why: `length ${body.length}, header says ${Number(m[3])}` };
  const payload = body.subarray(HEADER_LEN);
  const sha = crypto.createHash('sha256').update(payload).digest('hex');
  if (sha !== m[4]) return { seq, ok: false, why: 'payload SHA-256 mismatch' };
  if (!payload.equals(payloadBytes(runId, seq, payload.length))) return { seq, ok: false, why: 'payload differs' };
  return { seq, ok: true, why: '' };
}

// CRC32 (zlib polynomial), as the broker stores in BODYCRC (& 0x7fffffff).
const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

function crc32(buf) {
  let c = -1;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

// The body bytes as the broker stores them: ali-ons deflates (zlib format)
// bodies of 4096 bytes or more before sending (mq_producer.js).
function storedBody(body) {
  return body.length >= COMPRESS_AT ? zlib.deflateSync(body) : body;
}

// ---------------------------------------------------------------- messages

function newMessage(Message, topic, seq, runId) {
  const body = makeBody(runId, seq, sizeFor(seq));
  const msg = new Message(topic, tagFor(seq), body);
  msg.keys = [ keyFor(seq) ];
  return { msg, body };
}

// Send seqs with a bounded number in flight. A fresh Message per send:
// ali-ons replaces msg.body with the compressed bytes when it compresses.
async function sendAll(producer, Message, topic, seqs, runId, opts) {
  const concurrency = (opts && opts.concurrency) || 8;
  const until = Math.min(deadline, Date.now() + ((opts && opts.timeoutMs) || 60000));
  const results = new Map();
  let next = 0;
  async function worker() {
    while (next < seqs.length && Date.now() < until) {
      const seq = seqs[next++];
      const { msg } = newMessage(Message, topic, seq, runId);
      try {
        const r = await withTimeout(producer.send(msg), 10000, `send seq ${seq}`);
        results.set(seq, { ok: true, r });
      } catch (err) {
        results.set(seq, { ok: false, err });
        log('send seq %d failed: %s', seq, err && err.stack);
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

function summarizeSend(results, seqs) {
  const failed = [];
  const notOk = [];
  const byQueue = new Map();
  for (const seq of seqs) {
    const e = results.get(seq);
    if (!e) { failed.push(`${seq}: not sent (time budget)`); continue; }
    if (!e.ok) { failed.push(`${seq}: ${e.err && e.err.message} (code ${e.err && e.err.code})`); continue; }
    if (e.r.sendStatus !== 'SEND_OK') notOk.push(`${seq}: ${e.r.sendStatus}`);
    const q = Number(e.r.messageQueue && e.r.messageQueue.queueId);
    byQueue.set(q, (byQueue.get(q) || 0) + 1);
  }
  return { failed, notOk, byQueue };
}

// -------------------------------------------------------------- receiving
//
// Records every delivery a handler sees, with what the suite checks.

class Received {
  constructor(runId) {
    this.runId = runId;
    this.bySeq = new Map(); // seq -> [delivery]
    this.corrupt = [];
    this.foreign = 0;
    this.total = 0;
  }

  add(msg, mq, extra) {
    this.total++;
    const chk = checkBody(this.runId, msg.body);
    const d = {
      seq: chk.seq,
      bodyOk: chk.ok,
      why: chk.why,
      at: Date.now(),
      topic: msg.topic,
      tags: msg.tags,
      keys: msg.keys,
      msgId: msg.msgId,
      queueId: msg.queueId,
      mqQueueId: mq ? Number(mq.queueId) : null,
      queueOffset: msg.queueOffset,
      commitLogOffset: msg.commitLogOffset,
      reconsumeTimes: msg.reconsumeTimes,
      sysFlag: msg.sysFlag,
      bodyCRC: msg.bodyCRC,
      bodyLen: msg.body ? msg.body.length : 0,
      bornTimestamp: msg.bornTimestamp,
      storeTimestamp: msg.storeTimestamp,
      storeHost: msg.storeHost,
      props: Object.assign({}, msg.properties),
    };
    Object.assign(d, extra || {});
    if (chk.foreign) { this.foreign++; return d; }
    if (chk.seq < 0) { this.corrupt.push(d); return d; }
    if (!this.bySeq.has(chk.seq)) this.bySeq.set(chk.seq, []);
    this.bySeq.get(chk.seq).push(d);
    return d;
  }

  has(seq) {
    return this.bySeq.has(seq);
  }

  first(seq) {
    const l = this.bySeq.get(seq);
    return l ? l[0] : null;
  }

  missing(seqs) {
    return seqs.filter(s => !this.bySeq.has(s));
  }

  duplicates() {
    let n = 0;
    for (const l of this.bySeq.values()) n += l.length - 1;
    return n;
  }
}

// Checks of one delivery against what was sent. Returns a list of problems.
function deliveryProblems(d, topic, sendResult) {
  const p = [];
  const seq = d.seq;
  if (!d.bodyOk) p.push(`body: ${d.why}`);
  if (d.tags !== tagFor(seq)) p.push(`tags ${JSON.stringify(d.tags)}, want ${tagFor(seq)}`);
  if (d.keys !== keyFor(seq)) p.push(`keys ${JSON.stringify(d.keys)}, want ${keyFor(seq)}`);
  if (d.topic !== topic) p.push(`topic ${JSON.stringify(d.topic)}, want ${topic}`);
  if (sendResult) {
    if (d.msgId !== sendResult.msgId) p.push(`msgId ${d.msgId}, send result said ${sendResult.msgId}`);
    if (Number(d.queueOffset) !== Number(sendResult.queueOffset)) {
      p.push(`queueOffset ${d.queueOffset}, send result said ${sendResult.queueOffset}`);
    }
    if (Number(d.queueId) !== Number(sendResult.messageQueue.queueId)) {
      p.push(`queueId ${d.queueId}, send result said ${sendResult.messageQueue.queueId}`);
    }
  }
  return p;
}

function compressionProblems(d) {
  const size = sizeFor(d.seq);
  const want = size >= COMPRESS_AT ? 1 : 0;
  if ((d.sysFlag & 1) !== want) {
    return [ `seq ${d.seq} (${size} bytes): sysFlag ${d.sysFlag}, want compressed bit ${want}` ];
  }
  return [];
}

function crcProblems(runId, d) {
  const body = makeBody(runId, d.seq, sizeFor(d.seq));
  const want = crc32(storedBody(body)) & 0x7fffffff;
  const got = d.bodyCRC & 0x7fffffff;
  return got === want ? [] : [ `seq ${d.seq}: BODYCRC ${got}, want ${want}` ];
}

// ------------------------------------------------------------------ waits

const sleep = ms => new Promise(r => setTimeout(r, ms));

async function waitFor(pred, timeoutMs, stepMs) {
  const until = Math.min(deadline, Date.now() + timeoutMs);
  for (;;) {
    let v = false;
    try { v = await pred(); } catch (e) { v = false; }
    if (v) return true;
    if (Date.now() >= until) return false;
    await sleep(stepMs || 200);
  }
}

function withTimeout(p, ms, what) {
  let timer;
  return Promise.race([
    Promise.resolve(p),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function safeClose(client, what, ms) {
  if (!client) return { ok: true };
  try {
    await withTimeout(client.close(), ms || 10000, `${what} close`);
    return { ok: true };
  } catch (err) {
    log('%s close failed: %s', what, err && err.stack);
    return { ok: false, err };
  }
}

// ------------------------------------------------------- ali-ons internals
//
// The push consumer keeps its queues in consumer.processQueueTable (a public
// getter, lib/consumer/mq_push_consumer.js) and talks through
// consumer._mqClient (lib/mq_client.js). The spies below wrap methods of that
// one client instance to observe requests and answers; they change nothing.

function ownedQueues(consumer, topic) {
  const out = [];
  for (const v of consumer.processQueueTable.values()) {
    if (v && v.messageQueue && v.messageQueue.topic === topic) out.push(Number(v.messageQueue.queueId));
  }
  return out.sort((a, b) => a - b);
}

function wrapClientMethod(client, name, observe) {
  const orig = client[name];
  if (typeof orig !== 'function' || orig.__kmqSpy) return;
  const wrapped = async function(...args) {
    try {
      const r = await orig.apply(this, args);
      try { observe(args, r, null); } catch (e) { log('spy %s: %s', name, e.stack); }
      return r;
    } catch (err) {
      try { observe(args, undefined, err); } catch (e) { log('spy %s: %s', name, e.stack); }
      throw err;
    }
  };
  wrapped.__kmqSpy = true;
  client[name] = wrapped;
}

// Records GET_CONSUMER_LIST_BY_GROUP (38) answers: group -> last list.
function spyConsumerLists(client, store) {
  wrapClientMethod(client, 'getConsumerIdListByGroup', (args, r, err) => {
    store.set(args[1], err ? `error: ${err.message} (code ${err.code})` : r);
  });
}

// Errors ali-ons emits in normal operation, kept out of failure reports:
// QUERY_CONSUMER_OFFSET answered 22 for a new group (store/remote_broker.js),
// and no route yet for %RETRY%<group> before the broker creates it.
function expectedError(err) {
  const m = String(err && err.message);
  if (err && err.code === 22 && m.includes('readOffset failed')) return true;
  if (err && err.code === 17 && m.includes('%RETRY%')) return true;
  return false;
}

function producerErrors(producer, label, sink) {
  producer.on('error', err => {
    const text = `${label}: ${err && err.name}: ${err && err.message} (code ${err && err.code})`;
    if (!expectedError(err)) sink.push(text);
    log('%s%s', expectedError(err) ? '(expected) ' : '', text);
  });
}

function consumerErrors(consumer, label, sink) {
  consumer.on('error', err => {
    const text = `${label}: ${err && err.name}: ${err && err.message} (code ${err && err.code})`;
    if (!expectedError(err)) sink.push(text);
    log('%s%s', expectedError(err) ? '(expected) ' : '', text);
  });
}

// Scenario wrapper: runs fn(t), then exits with status 1 on any failure.
function runScenario(name, fn) {
  const t = new Tap(name);
  process.on('unhandledRejection', err => {
    log('unhandled rejection: %s', err && err.stack);
  });
  const hardStop = setTimeout(() => {
    t.ok(false, `scenario finished within its budget of ${config.budgetMs} ms`);
    process.exit(1);
  }, Math.max(1000, config.budgetMs - 2000));
  hardStop.unref();
  log('scenario %s start, run id %s, namesrv %s, budget %d ms', name, config.runId, config.namesrv, config.budgetMs);
  Promise.resolve()
    .then(() => fn(t))
    .catch(err => {
      t.ok(false, 'scenario ran without an exception', err && err.stack ? err.stack : String(err));
    })
    .then(() => {
      log('scenario %s end: %d tests, %d failed', name, t.count, t.failed);
      // ali-ons keeps timers (and an inner producer) alive: exit explicitly.
      setTimeout(() => process.exit(t.failed ? 1 : 0), 100);
    });
}

module.exports = {
  config,
  remaining,
  Tap,
  logger,
  log,
  loadAliOns,
  clientOptions,
  HEADER_LEN,
  LARGE,
  COMPRESS_AT,
  sizeFor,
  tagFor,
  keyFor,
  makeBody,
  checkBody,
  crc32,
  storedBody,
  newMessage,
  sendAll,
  summarizeSend,
  Received,
  deliveryProblems,
  compressionProblems,
  crcProblems,
  sleep,
  waitFor,
  withTimeout,
  safeClose,
  ownedQueues,
  wrapClientMethod,
  spyConsumerLists,
  expectedError,
  producerErrors,
  consumerErrors,
  runScenario,
};
