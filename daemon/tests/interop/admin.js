#!/usr/bin/env node
'use strict';
// Small admin helper for the interop suite. It speaks the remoting protocol
// directly (lib/remoting.js) and does not need ali-ons.
//
//   admin.js selftest
//       unit-checks the frame codec; prints unnumbered TAP lines
//   admin.js create-topic --broker=H:P --topic=T --queues=N [--timeout=SEC]
//       UPDATE_AND_CREATE_TOPIC (17) to the broker; retries until SEC
//   admin.js wait-route --namesrv=H:P --topic=T --queues=N [--timeout=SEC]
//       polls GET_ROUTEINFO_BY_TOPIC (105) until the route has N read and
//       write queues, perm RW and a master address (brokerAddrs "0")
//   admin.js expect-no-route --namesrv=H:P --topic=T
//       105 for a topic that does not exist must answer 17 TOPIC_NOT_EXIST
//   admin.js pick-ports
//       prints "NAMESRV_PORT BROKER_PORT", both free on 127.0.0.1 (the broker
//       port with 2 free ports either side, for kmqd's HA/VIP neighbours)
//
// Exit status 0 on success, 1 on failure (reason on stdout, prefixed "# ").

const net = require('net');
const remoting = require('./lib/remoting');

const CODE_UPDATE_AND_CREATE_TOPIC = 17;
const CODE_GET_ROUTEINFO_BY_TOPIC = 105;
const RESP_SUCCESS = 0;
const RESP_TOPIC_NOT_EXIST = 17;

function parseArgs(argv) {
  const out = { _: [] };
  for (const a of argv) {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    if (m) out[m[1]] = m[2];
    else out._.push(a);
  }
  return out;
}

function need(args, name) {
  if (args[name] === undefined || args[name] === '') {
    throw new Error(`missing --${name}=`);
  }
  return args[name];
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

function diag(msg) {
  for (const line of String(msg).split('\n')) process.stdout.write(`# ${line}\n`);
}

// ---------------------------------------------------------------- selftest

function selftest() {
  const results = [];
  const check = (cond, name, detail) => {
    results.push(cond);
    process.stdout.write(`${cond ? 'ok' : 'not ok'} - codec: ${name}\n`);
    if (!cond && detail) diag(detail);
  };

  const ext = {
    topic: 'kmq_interop_main',
    defaultTopic: 'TBW102',
    readQueueNums: '4',
    writeQueueNums: '4',
    perm: '6',
    topicFilterType: 'SINGLE_TAG',
    topicSysFlag: '0',
    order: 'false',
  };
  const frame = remoting.encodeFrame({ code: 17, opaque: 4242, flag: 0, extFields: ext });

  // Hand-decode the bytes, independently of decodeFrame().
  const totalLen = frame.readInt32BE(0);
  const word = frame.readUInt32BE(4);
  const headerLen = word & 0xffffff;
  const headerText = frame.subarray(8, 8 + headerLen).toString('utf8');
  let header = null;
  try { header = JSON.parse(headerText); } catch (e) { /* checked below */ }
  check(totalLen === frame.length - 4, 'length field = 4 + headerLen + bodyLen',
    `length ${totalLen}, frame ${frame.length}`);
  check((word >>> 24) === 0, 'serialize type byte is 0 (JSON)', `word 0x${word.toString(16)}`);
  check(headerLen === frame.length - 8, 'header fills the frame when there is no body',
    `headerLen ${headerLen}, frame ${frame.length}`);
  check(header !== null && header.code === 17 && header.opaque === 4242 && header.flag === 0 &&
    header.language === 'JAVA' && typeof header.version === 'number',
  'JSON header carries code, opaque, flag, language, version', headerText);
  check(header !== null && JSON.stringify(header.extFields) === JSON.stringify(ext),
    'extFields round-trip as strings', headerText);
  check(frame.readUInt8(4) === 0 && frame.readUInt8(5) === ((headerLen >> 16) & 0xff),
    'big-endian header-length word', frame.subarray(0, 8).toString('hex'));

  // With a body, and through the decoder.
  const body = Buffer.from([ 0, 1, 2, 0xff, 0xfe, 0x0a ]);
  const f2 = remoting.encodeFrame({ code: 34, opaque: 7, flag: 1, remark: 'x', extFields: {}, body });
  const d2 = remoting.decodeFrame(f2);
  check(d2.serializeType === 0 && d2.header.code === 34 && d2.header.flag === 1 &&
    d2.header.remark === 'x' && d2.body && d2.body.equals(body),
  'frame with body decodes to the same header and body');

  // Stream splitting across arbitrary chunk boundaries.
  const stream = Buffer.concat([ frame, f2, frame ]);
  let okSplit = true;
  for (const step of [ 1, 3, 7, 64 ]) {
    const r = new remoting.FrameReader();
    const got = [];
    for (let i = 0; i < stream.length; i += step) {
      got.push(...r.push(stream.subarray(i, Math.min(stream.length, i + step))));
    }
    if (got.length !== 3 || got[1].header.code !== 34 || !got[1].body.equals(body) ||
        got[0].header.opaque !== 4242 || got[2].header.opaque !== 4242) {
      okSplit = false;
    }
  }
  check(okSplit, 'FrameReader splits a byte stream fed in 1, 3, 7 and 64 byte chunks');

  // Malformed input is rejected.
  let threw = false;
  try { new remoting.FrameReader().push(Buffer.from([ 0x7f, 0xff, 0xff, 0xff ])); } catch (e) { threw = true; }
  check(threw, 'FrameReader rejects a frame length over 16 MiB');
  threw = false;
  try { remoting.decodeFrame(Buffer.concat([ frame, Buffer.from([ 1 ]) ])); } catch (e) { threw = true; }
  check(threw, 'decodeFrame rejects a length field that disagrees with the frame size');

  // Same bytes ali-ons would produce for the same command (its encoder:
  // lib/protocol/command/remoting_command.js encode()), if it is installed.
  let RC = null;
  try {
    RC = require('ali-ons/lib/protocol/command/remoting_command');
  } catch (e) {
    RC = null;
  }
  if (RC) {
    const c = new RC({ code: 17, opaque: 4242, extFields: Object.assign({}, ext) });
    const theirs = c.encode();
    const ours = remoting.encodeFrame({ code: 17, opaque: 4242, flag: 0, extFields: ext });
    const a = remoting.decodeFrame(theirs);
    const b = remoting.decodeFrame(ours);
    check(a.serializeType === b.serializeType && a.header.code === b.header.code &&
      a.header.opaque === b.header.opaque && a.header.flag === b.header.flag &&
      JSON.stringify(a.header.extFields) === JSON.stringify(b.header.extFields) &&
      theirs.readInt32BE(0) === theirs.length - 4,
    'ali-ons encodes the same command to an equivalent frame');
    // and ali-ons decodes our response frame
    const resp = remoting.encodeFrame({ code: 0, opaque: 99, flag: 1, remark: null,
      extFields: { offset: '12' }, body: Buffer.from('{"a":1}') });
    const back = RC.decode(resp);
    check(back.isResponseType && back.opaque === 99 && back.code === 0 &&
      back.extFields.offset === '12' && back.body.toString() === '{"a":1}',
    'ali-ons decodes a response frame built by this codec');
  }
  return results.every(Boolean) ? 0 : 1;
}

// ------------------------------------------------------------ create-topic

async function createTopic(args) {
  const broker = need(args, 'broker');
  const topic = need(args, 'topic');
  const queues = String(Number(need(args, 'queues')));
  const deadline = Date.now() + 1000 * Number(args.timeout || 15);
  const ext = {
    topic,
    defaultTopic: 'TBW102',
    readQueueNums: queues,
    writeQueueNums: queues,
    perm: '6',
    topicFilterType: 'SINGLE_TAG',
    topicSysFlag: '0',
    order: 'false',
  };
  let last = '';
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await remoting.invoke(broker, CODE_UPDATE_AND_CREATE_TOPIC, ext, null, 5000);
      if (r.code === RESP_SUCCESS) {
        diag(`topic ${topic} created on ${broker} with ${queues} queues (attempt ${attempt})`);
        return 0;
      }
      last = `code ${r.code}, remark ${JSON.stringify(r.remark)}`;
    } catch (err) {
      last = err.message;
    }
    if (Date.now() > deadline) break;
    await sleep(500);
  }
  diag(`UPDATE_AND_CREATE_TOPIC ${topic} on ${broker} failed: ${last}`);
  return 1;
}

// -------------------------------------------------------------- wait-route

function routeProblems(route, queues) {
  const p = [];
  if (!route || !Array.isArray(route.queueDatas)) p.push('no queueDatas array');
  if (!route || !Array.isArray(route.brokerDatas)) p.push('no brokerDatas array');
  if (p.length) return p;
  if (!route.queueDatas.length) p.push('queueDatas is empty');
  for (const q of route.queueDatas) {
    if (Number(q.readQueueNums) !== queues || Number(q.writeQueueNums) !== queues) {
      p.push(`queueData ${q.brokerName}: read ${q.readQueueNums}/write ${q.writeQueueNums}, want ${queues}`);
    }
    if ((Number(q.perm) & 6) !== 6) p.push(`queueData ${q.brokerName}: perm ${q.perm}, want read+write`);
    const bd = route.brokerDatas.find(b => b.brokerName === q.brokerName);
    if (!bd) p.push(`no brokerData for ${q.brokerName}`);
    else if (!bd.brokerAddrs || !bd.brokerAddrs['0']) p.push(`brokerData ${q.brokerName} has no brokerAddrs["0"] (master)`);
  }
  return p;
}

async function waitRoute(args) {
  const ns = need(args, 'namesrv');
  const topic = need(args, 'topic');
  const queues = Number(need(args, 'queues'));
  const start = Date.now();
  const deadline = start + 1000 * Number(args.timeout || 45);
  let last = '';
  for (;;) {
    try {
      const r = await remoting.invoke(ns, CODE_GET_ROUTEINFO_BY_TOPIC, { topic }, null, 3000);
      if (r.code === RESP_SUCCESS) {
        let route = null;
        try {
          route = JSON.parse(r.body ? r.body.toString('utf8') : '');
        } catch (e) {
          last = `body is not standard JSON: ${r.body ? r.body.toString('utf8').slice(0, 300) : '(none)'}`;
        }
        if (route) {
          const problems = routeProblems(route, queues);
          if (!problems.length) {
            const took = Date.now() - start;
            diag(`route for ${topic} after ${took} ms: ${JSON.stringify(route)}`);
            if (took > 5000) {
              diag(`note: the name server learned of ${topic} only after ${took} ms; ` +
                'the Java broker registers a new topic at once');
            }
            return 0;
          }
          last = `route not usable yet: ${problems.join('; ')}`;
        }
      } else {
        last = `code ${r.code}, remark ${JSON.stringify(r.remark)}`;
      }
    } catch (err) {
      last = err.message;
    }
    if (Date.now() > deadline) break;
    await sleep(500);
  }
  diag(`no usable route for ${topic} from ${ns} within ${args.timeout || 45} s: ${last}`);
  return 1;
}

async function expectNoRoute(args) {
  const ns = need(args, 'namesrv');
  const topic = need(args, 'topic');
  try {
    const r = await remoting.invoke(ns, CODE_GET_ROUTEINFO_BY_TOPIC, { topic }, null, 3000);
    if (r.code === RESP_TOPIC_NOT_EXIST) return 0;
    diag(`105 for unknown topic ${topic} answered code ${r.code} (want 17 TOPIC_NOT_EXIST), remark ${JSON.stringify(r.remark)}`);
  } catch (err) {
    diag(`105 for unknown topic ${topic}: ${err.message}`);
  }
  return 1;
}

// -------------------------------------------------------------- pick-ports

function portFree(port) {
  return new Promise(resolve => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function allFree(ports) {
  for (const p of ports) {
    if (!(await portFree(p))) return false;
  }
  return true;
}

async function pickPorts() {
  for (let i = 0; i < 200; i++) {
    const ns = 19876 + i * 10;
    const br = 20911 + i * 10;
    if (await allFree([ ns, br - 2, br - 1, br, br + 1, br + 2 ])) {
      process.stdout.write(`${ns} ${br}\n`);
      return 0;
    }
  }
  diag('no free port pair found');
  return 1;
}

// -------------------------------------------------------------------- main

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const cmd = args._[0];
  switch (cmd) {
    case 'selftest': return selftest();
    case 'create-topic': return createTopic(args);
    case 'wait-route': return waitRoute(args);
    case 'expect-no-route': return expectNoRoute(args);
    case 'pick-ports': return pickPorts();
    default:
      diag('usage: admin.js selftest|create-topic|wait-route|expect-no-route|pick-ports [--k=v ...]');
      return 2;
  }
}

main().then(code => {
  process.exitCode = code;
}, err => {
  diag(`admin.js: ${err && err.stack ? err.stack : err}`);
  process.exitCode = 1;
});
