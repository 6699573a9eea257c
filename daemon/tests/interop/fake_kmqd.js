#!/usr/bin/env node
'use strict';
// fake_kmqd.js: an in-memory stand-in for kmqd, for testing the interop
// suite itself while kmqd is being written (KMQD=.../fake_kmqd.js run.sh).
// It is NOT a reference implementation: no persistence, no limits, one
// broker, minimal error handling. It accepts the same command lines as the
// suite gives kmqd:
//
//   fake_kmqd.js namesrv --namesrvListenPort=P [--listenAddr=A]
//   fake_kmqd.js broker  --listenPort=P --namesrvAddr=H:P [--brokerName=N] [...]
//
// It answers codes 17, 34, 35, 36, 38, 11, 14, 15, 29, 30, 310 (broker) and
// 103, 105 (name server), with JSON headers, long polling, tag filtering
// by hash code, and retries through %RETRY%<group> after RocketMQ's delay
// (level 3 + reconsumeTimes; FAKE_KMQD_DELAY_SCALE=0.1 shortens it).

const net = require('net');
const remoting = require('./lib/remoting');

const C = {
  PULL_MESSAGE: 11,
  QUERY_CONSUMER_OFFSET: 14,
  UPDATE_CONSUMER_OFFSET: 15,
  UPDATE_AND_CREATE_TOPIC: 17,
  SEARCH_OFFSET_BY_TIMESTAMP: 29,
  GET_MAX_OFFSET: 30,
  HEART_BEAT: 34,
  UNREGISTER_CLIENT: 35,
  CONSUMER_SEND_MSG_BACK: 36,
  GET_CONSUMER_LIST_BY_GROUP: 38,
  REGISTER_BROKER: 103,
  GET_ROUTEINFO_BY_TOPIC: 105,
  SEND_MESSAGE_V2: 310,
};
const R = {
  SUCCESS: 0, SYSTEM_ERROR: 1, NOT_SUPPORTED: 3, TOPIC_NOT_EXIST: 17,
  PULL_NOT_FOUND: 19, PULL_RETRY_IMMEDIATELY: 20, PULL_OFFSET_MOVED: 21, QUERY_NOT_FOUND: 22,
};
const DELAYS_S = [ 1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200 ];
const DELAY_SCALE = Number(process.env.FAKE_KMQD_DELAY_SCALE || 1);
// Deliberate faults, to check that the suite notices them (comma list):
// no_filter, ignore_commit, no_retry_prop, keep_clients, lose_one,
// sendback_error, hang_pull, not_me
// FAKE_KMQD_TRACE=file appends every request (JSON header, short bodies).
const TRACE = process.env.FAKE_KMQD_TRACE || '';
const FAULTS = new Set(String(process.env.FAKE_KMQD_FAULTS || '').split(',').filter(Boolean));

function parseArgs(argv) {
  const o = {};
  for (const a of argv) {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    if (m) o[m[1]] = m[2];
  }
  return o;
}

function log(...a) {
  process.stderr.write(`${new Date().toISOString()} fake_kmqd[${process.argv[2]}] ${a.join(' ')}\n`);
}

function javaHash(s) {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

function parseProps(str) {
  const m = {};
  for (const item of String(str || '').split('\x02')) {
    if (!item) continue;
    const i = item.indexOf('\x01');
    if (i > 0) m[item.slice(0, i)] = item.slice(i + 1);
  }
  return m;
}

function propsString(m) {
  let s = '';
  for (const k of Object.keys(m)) s += `${k}\x01${m[k]}\x02`;
  return s;
}

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

function ipBytes(ip) {
  const p = String(ip || '127.0.0.1').replace(/^::ffff:/, '').split('.').map(Number);
  return p.length === 4 && p.every(x => x >= 0 && x < 256) ? Buffer.from(p) : Buffer.from([ 127, 0, 0, 1 ]);
}

// Serve remoting requests; handler(frame, socket) resolves
// { code, remark, extFields, body } or null (no answer).
function serve(host, port, handler, onClose) {
  const srv = net.createServer(sock => {
    const reader = new remoting.FrameReader();
    sock.on('data', chunk => {
      let frames;
      try {
        frames = reader.push(chunk);
      } catch (err) {
        log('bad frame from', sock.remoteAddress, err.message);
        sock.destroy();
        return;
      }
      for (const f of frames) {
        const h = f.header;
        if (!h || (h.flag & remoting.FLAG_RESPONSE)) continue;
        if (TRACE) {
          require('fs').appendFileSync(TRACE, JSON.stringify({ t: Date.now(), header: h,
            body: f.body && f.body.length < 4096 ? f.body.toString('utf8') : (f.body ? `<${f.body.length} bytes>` : null) }) + '\n');
        }
        Promise.resolve()
          .then(() => handler(h, f.body, sock))
          .catch(err => ({ code: R.SYSTEM_ERROR, remark: String(err && err.stack) }))
          .then(r => {
            if (!r || (h.flag & remoting.FLAG_ONEWAY) || sock.destroyed) return;
            sock.write(remoting.encodeFrame({ code: r.code, opaque: h.opaque, flag: remoting.FLAG_RESPONSE,
              remark: r.remark === undefined ? null : r.remark, extFields: r.extFields || {}, body: r.body }));
          });
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => onClose && onClose(sock));
  });
  srv.listen({ host, port }, () => log('listening on', `${host}:${port}`));
  return srv;
}

// ------------------------------------------------------------- name server

function namesrv(args) {
  const port = Number(args.namesrvListenPort || args.listenPort || 9876);
  const host = args.listenAddr || '127.0.0.1';
  const brokers = new Map(); // brokerName -> { cluster, addrs, topics }
  serve(host, port, (h, body) => {
    const ext = h.extFields || {};
    switch (h.code) {
      case C.REGISTER_BROKER: {
        const wrap = JSON.parse(body.toString('utf8'));
        const table = wrap.topicConfigSerializeWrapper.topicConfigTable || {};
        const b = brokers.get(ext.brokerName) || { cluster: ext.clusterName, addrs: {}, topics: {} };
        b.addrs[String(ext.brokerId)] = ext.brokerAddr;
        b.topics = table;
        brokers.set(ext.brokerName, b);
        return { code: R.SUCCESS, extFields: {} };
      }
      case C.GET_ROUTEINFO_BY_TOPIC: {
        const route = { orderTopicConf: undefined, queueDatas: [], brokerDatas: [], filterServerTable: {} };
        for (const [ name, b ] of brokers) {
          const tc = b.topics[ext.topic];
          if (!tc) continue;
          route.queueDatas.push({ brokerName: name, readQueueNums: tc.readQueueNums,
            writeQueueNums: tc.writeQueueNums, perm: tc.perm, topicSysFlag: tc.topicSysFlag || 0 });
          route.brokerDatas.push({ cluster: b.cluster, brokerName: name, brokerAddrs: b.addrs });
        }
        if (!route.queueDatas.length) {
          return { code: R.TOPIC_NOT_EXIST, remark: `No topic route info in name server for the topic: ${ext.topic}` };
        }
        return { code: R.SUCCESS, body: Buffer.from(JSON.stringify(route)) };
      }
      default:
        return { code: R.NOT_SUPPORTED, remark: `request code ${h.code} not supported` };
    }
  });
}

// ------------------------------------------------------------------ broker

function broker(args) {
  const port = Number(args.listenPort || 10911);
  const host = '127.0.0.1';
  const addr = `${host}:${port}`;
  const brokerName = args.brokerName || 'broker-a';
  const namesrvAddr = (args.namesrvAddr || '127.0.0.1:9876').split(';')[0];
  const topics = new Map(); // name -> { read, write, perm, queues: [[offset in commitlog]] }
  const commitlog = new Map(); // phys offset -> record info
  let physNext = 0;
  const groups = new Map(); // group -> Map clientId -> socket
  const offsets = new Map(); // topic@group -> Map qid -> offset
  const waiters = new Map(); // topic#qid -> Set(fn)

  let regTimer = null;
  function registerSoon() {
    if (regTimer) return;
    regTimer = setTimeout(() => { regTimer = null; register(); }, 10);
  }
  async function register() {
    const table = {};
    for (const [ name, t ] of topics) {
      table[name] = { topicName: name, readQueueNums: t.read, writeQueueNums: t.write, perm: t.perm,
        topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false };
    }
    const body = { topicConfigSerializeWrapper: { topicConfigTable: table,
      dataVersion: { timestamp: Date.now(), counter: 1 } }, filterServerList: [] };
    try {
      const r = await remoting.invoke(namesrvAddr, C.REGISTER_BROKER, { brokerName, brokerAddr: addr,
        clusterName: 'DefaultCluster', haServerAddr: `${host}:${port + 1}`, brokerId: '0' },
      Buffer.from(JSON.stringify(body)), 3000);
      if (r.code !== 0) log('register answered', r.code, r.remark);
    } catch (err) {
      log('register failed:', err.message);
    }
  }
  setInterval(register, 30000).unref();
  register();

  function ensureTopic(name, n, perm) {
    let t = topics.get(name);
    if (!t) {
      t = { read: n, write: n, perm: perm || 6, queues: Array.from({ length: n }, () => []) };
      topics.set(name, t);
      registerSoon();
    }
    return t;
  }

  function wake(topic, qid) {
    const key = `${topic}#${qid}`;
    const set = waiters.get(key);
    if (!set) return;
    waiters.delete(key);
    for (const fn of set) fn();
  }

  function append(m) {
    const t = topics.get(m.topic);
    const qid = m.queueId % t.write;
    const q = t.queues[qid];
    const topicB = Buffer.from(m.topic);
    const propsB = Buffer.from(m.propsStr);
    const size = 91 + m.body.length + topicB.length + propsB.length;
    const b = Buffer.alloc(size);
    const phys = physNext;
    physNext += size;
    const storeTs = Date.now();
    let o = 0;
    b.writeInt32BE(size, o); o += 4;
    b.writeUInt32BE(0xdaa320a7, o); o += 4;
    b.writeInt32BE(crc32(m.body) & 0x7fffffff, o); o += 4;
    b.writeInt32BE(qid, o); o += 4;
    b.writeInt32BE(m.flag | 0, o); o += 4;
    b.writeBigInt64BE(BigInt(q.length), o); o += 8;
    b.writeBigInt64BE(BigInt(phys), o); o += 8;
    b.writeInt32BE(m.sysFlag | 0, o); o += 4;
    b.writeBigInt64BE(BigInt(m.bornTs || storeTs), o); o += 8;
    ipBytes(m.bornHost).copy(b, o); o += 4;
    b.writeInt32BE(m.bornPort | 0, o); o += 4;
    b.writeBigInt64BE(BigInt(storeTs), o); o += 8;
    ipBytes(host).copy(b, o); o += 4;
    b.writeInt32BE(port, o); o += 4;
    b.writeInt32BE(m.reconsumeTimes | 0, o); o += 4;
    b.writeBigInt64BE(0n, o); o += 8;
    b.writeInt32BE(m.body.length, o); o += 4;
    m.body.copy(b, o); o += m.body.length;
    b.writeInt8(topicB.length, o); o += 1;
    topicB.copy(b, o); o += topicB.length;
    b.writeInt16BE(propsB.length, o); o += 2;
    propsB.copy(b, o);
    const props = parseProps(m.propsStr);
    const rec = { buf: b, phys, topic: m.topic, queueId: qid, queueOffset: q.length, body: m.body, props,
      sysFlag: m.sysFlag, flag: m.flag, reconsumeTimes: m.reconsumeTimes | 0, storeTs,
      tagsCode: props.TAGS ? javaHash(props.TAGS) : 0 };
    commitlog.set(phys, rec);
    q.push(rec);
    const id = Buffer.alloc(16);
    ipBytes(host).copy(id, 0);
    id.writeInt32BE(port, 4);
    id.writeBigInt64BE(BigInt(phys), 8);
    rec.msgId = id.toString('hex').toUpperCase();
    setImmediate(() => wake(m.topic, qid));
    return rec;
  }

  function offsetTable(topic, group) {
    const k = `${topic}@${group}`;
    if (!offsets.has(k)) offsets.set(k, new Map());
    return offsets.get(k);
  }

  function pull(ext, sock) {
    const t = topics.get(ext.topic);
    if (!t) return { code: R.TOPIC_NOT_EXIST, remark: `topic ${ext.topic} not exist` };
    const qid = Number(ext.queueId);
    const q = t.queues[qid];
    if (!q) return { code: R.SYSTEM_ERROR, remark: `queueId ${qid} out of range` };
    const sysFlag = Number(ext.sysFlag || 0);
    if (FAULTS.has('hang_pull')) return new Promise(() => {});
    if ((sysFlag & 1) && Number(ext.commitOffset) >= 0 && !FAULTS.has('ignore_commit')) {
      offsetTable(ext.topic, ext.consumerGroup).set(qid, Number(ext.commitOffset));
    }
    const maxN = Number(ext.maxMsgNums || 32);
    const sub = ext.subscription;
    let codes = null;
    if (sub && sub.trim() !== '*' && sub.trim() !== '' && !FAULTS.has('no_filter')) {
      codes = new Set(sub.split('||').map(s => s.trim()).filter(Boolean).map(javaHash));
    }
    const offset = Number(ext.queueOffset);
    const attempt = final => {
      const hdr = next => ({ nextBeginOffset: String(next), minOffset: '0', maxOffset: String(q.length),
        suggestWhichBrokerId: '0' });
      if (!(offset >= 0) || offset > q.length) {
        return { code: R.PULL_OFFSET_MOVED, remark: 'offset moved', extFields: hdr(offset > q.length ? q.length : 0) };
      }
      if (offset === q.length) {
        return final ? { code: R.PULL_NOT_FOUND, remark: 'no new message', extFields: hdr(offset) } : null;
      }
      const found = [];
      let i = offset;
      for (; i < q.length && found.length < maxN && i - offset < 2000; i++) {
        if (FAULTS.has('lose_one') && qid === 1 && i === 7) continue;
        if (!codes || codes.has(q[i].tagsCode)) found.push(q[i].buf);
      }
      if (!found.length) return { code: R.PULL_RETRY_IMMEDIATELY, remark: 'no matched message', extFields: hdr(i) };
      return { code: R.SUCCESS, extFields: hdr(i), body: Buffer.concat(found) };
    };
    const now = attempt(!(sysFlag & 2));
    if (now) return now;
    const suspend = Math.min(Number(ext.suspendTimeoutMillis || 15000), 15000);
    return new Promise(resolve => {
      const key = `${ext.topic}#${qid}`;
      let timer = null;
      const fn = () => {
        clearTimeout(timer);
        if (waiters.has(key)) waiters.get(key).delete(fn);
        resolve(attempt(true));
      };
      timer = setTimeout(fn, suspend);
      if (!waiters.has(key)) waiters.set(key, new Set());
      waiters.get(key).add(fn);
      sock.once('close', () => { clearTimeout(timer); if (waiters.has(key)) waiters.get(key).delete(fn); });
    });
  }

  function dropSocket(sock) {
    if (FAULTS.has('keep_clients')) return;
    for (const g of groups.values()) {
      for (const [ id, s ] of g) if (s === sock) g.delete(id);
    }
  }

  serve(host, port, (h, body, sock) => {
    const ext = h.extFields || {};
    switch (h.code) {
      case C.UPDATE_AND_CREATE_TOPIC: {
        const n = Number(ext.writeQueueNums || ext.readQueueNums || 8);
        const t = ensureTopic(ext.topic, n, Number(ext.perm || 6));
        t.perm = Number(ext.perm || 6);
        register();
        return { code: R.SUCCESS };
      }
      case C.HEART_BEAT: {
        const hb = JSON.parse(body.toString('utf8'));
        for (const cd of hb.consumerDataSet || []) {
          if (!groups.has(cd.groupName)) groups.set(cd.groupName, new Map());
          groups.get(cd.groupName).set(hb.clientID, sock);
          if (cd.messageModel === 'CLUSTERING') ensureTopic(`%RETRY%${cd.groupName}`, 1, 6);
        }
        return { code: R.SUCCESS };
      }
      case C.UNREGISTER_CLIENT: {
        if (ext.consumerGroup && groups.has(ext.consumerGroup) && !FAULTS.has('keep_clients')) {
          groups.get(ext.consumerGroup).delete(ext.clientID);
        }
        return { code: R.SUCCESS };
      }
      case C.GET_CONSUMER_LIST_BY_GROUP: {
        const g = groups.get(ext.consumerGroup);
        if (!g || !g.size) return { code: R.SYSTEM_ERROR, remark: `no consumer for this group, ${ext.consumerGroup}` };
        let ids = Array.from(g.keys());
        if (FAULTS.has('not_me')) ids = ids.map(id => `${id}-x`);
        return { code: R.SUCCESS, body: Buffer.from(JSON.stringify({ consumerIdList: ids })) };
      }
      case C.QUERY_CONSUMER_OFFSET: {
        const v = offsetTable(ext.topic, ext.consumerGroup).get(Number(ext.queueId));
        if (v === undefined) return { code: R.QUERY_NOT_FOUND, remark: 'Not found' };
        return { code: R.SUCCESS, extFields: { offset: String(v) } };
      }
      case C.UPDATE_CONSUMER_OFFSET: {
        const v = Number(ext.commitOffset);
        if (v >= 0 && !FAULTS.has('ignore_commit')) offsetTable(ext.topic, ext.consumerGroup).set(Number(ext.queueId), v);
        return { code: R.SUCCESS };
      }
      case C.GET_MAX_OFFSET: {
        const t = topics.get(ext.topic);
        const q = t && t.queues[Number(ext.queueId)];
        return { code: R.SUCCESS, extFields: { offset: String(q ? q.length : 0) } };
      }
      case C.SEARCH_OFFSET_BY_TIMESTAMP: {
        const t = topics.get(ext.topic);
        const q = (t && t.queues[Number(ext.queueId)]) || [];
        const ts = Number(ext.timestamp);
        let i = 0;
        while (i < q.length && q[i].storeTs < ts) i++;
        return { code: R.SUCCESS, extFields: { offset: String(i) } };
      }
      case C.SEND_MESSAGE_V2: {
        if (!topics.has(ext.b)) {
          return { code: R.TOPIC_NOT_EXIST, remark: `topic[${ext.b}] not exist, apply first please!` };
        }
        const rec = append({ topic: ext.b, queueId: Number(ext.e || 0), sysFlag: Number(ext.f || 0),
          bornTs: Number(ext.g), flag: Number(ext.h || 0), propsStr: ext.i || '',
          reconsumeTimes: Number(ext.j || 0), body: body || Buffer.alloc(0),
          bornHost: sock.remoteAddress, bornPort: sock.remotePort });
        return { code: R.SUCCESS, extFields: { msgId: rec.msgId, queueId: String(rec.queueId),
          queueOffset: String(rec.queueOffset) } };
      }
      case C.CONSUMER_SEND_MSG_BACK: {
        if (FAULTS.has('sendback_error')) return { code: R.SYSTEM_ERROR, remark: 'fault: sendback_error' };
        const orig = commitlog.get(Number(ext.offset));
        if (!orig) return { code: R.SYSTEM_ERROR, remark: `look message by offset failed, ${ext.offset}` };
        const group = ext.group;
        const props = Object.assign({}, orig.props);
        if (!props.RETRY_TOPIC && !FAULTS.has('no_retry_prop')) props.RETRY_TOPIC = orig.topic;
        if (!props.ORIGIN_MESSAGE_ID) props.ORIGIN_MESSAGE_ID = ext.originMsgId || orig.msgId;
        const times = orig.reconsumeTimes + 1;
        const max = ext.maxReconsumeTimes === undefined ? 16 : Number(ext.maxReconsumeTimes);
        let topic = `%RETRY%${group}`;
        let delayMs = 0;
        if (times > max) {
          topic = `%DLQ%${group}`;
        } else {
          const level = Number(ext.delayLevel) > 0 ? Number(ext.delayLevel) : 3 + orig.reconsumeTimes;
          delayMs = DELAYS_S[Math.min(level, DELAYS_S.length) - 1] * 1000 * DELAY_SCALE;
        }
        ensureTopic(topic, 1, 6);
        setTimeout(() => append({ topic, queueId: 0, sysFlag: orig.sysFlag, bornTs: Date.now(), flag: orig.flag,
          propsStr: propsString(props), reconsumeTimes: times, body: orig.body,
          bornHost: sock.remoteAddress, bornPort: sock.remotePort }), delayMs);
        return { code: R.SUCCESS };
      }
      case C.PULL_MESSAGE:
        return pull(ext, sock);
      default:
        return { code: R.NOT_SUPPORTED, remark: `request code ${h.code} not supported` };
    }
  }, dropSocket);
}

const mode = process.argv[2];
const args = parseArgs(process.argv.slice(3));
if (mode === 'namesrv') namesrv(args);
else if (mode === 'broker') broker(args);
else {
  process.stderr.write('usage: fake_kmqd.js namesrv|broker --k=v ...\n');
  process.exit(2);
}
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
