'use strict';
// RocketMQ remoting frames with JSON headers (serialize type 0), written for
// the kmq interop suite from the format in shared/reference/rocketmq.md s. 4:
//
//   [int32 length = 4 + headerLen + bodyLen]
//   [int32 (serializeType << 24) | headerLen]
//   [header: JSON, UTF-8] [body]
//
// All integers are big-endian. flag bit 0 = response, bit 1 = oneway.

const net = require('net');

const SERIALIZE_JSON = 0;
const FLAG_RESPONSE = 1;
const FLAG_ONEWAY = 2;
const MAX_FRAME = 16 * 1024 * 1024;

let nextOpaque = 1;

function takeOpaque() {
  const v = nextOpaque;
  nextOpaque = nextOpaque >= 0x7ffffff0 ? 1 : nextOpaque + 1;
  return v;
}

// cmd: { code, opaque, flag, remark, extFields, body, language, version }
function encodeFrame(cmd) {
  const header = {
    code: cmd.code,
    language: cmd.language || 'JAVA',
    version: cmd.version === undefined ? 121 : cmd.version,
    opaque: cmd.opaque,
    flag: cmd.flag || 0,
  };
  if (cmd.remark !== undefined && cmd.remark !== null) header.remark = cmd.remark;
  header.extFields = cmd.extFields || {};
  const headerBuf = Buffer.from(JSON.stringify(header), 'utf8');
  const body = cmd.body ? Buffer.from(cmd.body) : Buffer.alloc(0);
  if (headerBuf.length > 0xffffff) throw new Error('header longer than 16 MiB - 1');
  const out = Buffer.alloc(8 + headerBuf.length + body.length);
  out.writeInt32BE(4 + headerBuf.length + body.length, 0);
  out.writeUInt32BE(((SERIALIZE_JSON << 24) | headerBuf.length) >>> 0, 4);
  headerBuf.copy(out, 8);
  body.copy(out, 8 + headerBuf.length);
  return out;
}

// Decode one complete frame (the whole buffer). Throws on malformed input.
function decodeFrame(buf) {
  if (buf.length < 8) throw new Error(`frame shorter than 8 bytes (${buf.length})`);
  const length = buf.readInt32BE(0);
  if (length !== buf.length - 4) {
    throw new Error(`length field ${length} does not match frame size ${buf.length} - 4`);
  }
  const word = buf.readUInt32BE(4);
  const serializeType = word >>> 24;
  const headerLen = word & 0xffffff;
  if (headerLen > length - 4) throw new Error(`header length ${headerLen} exceeds frame`);
  const headerBytes = buf.subarray(8, 8 + headerLen);
  const body = buf.length > 8 + headerLen ? Buffer.from(buf.subarray(8 + headerLen)) : null;
  let header = null;
  if (serializeType === SERIALIZE_JSON) {
    header = JSON.parse(headerBytes.toString('utf8'));
  }
  return { serializeType, headerLen, header, headerBytes: Buffer.from(headerBytes), body };
}

// Incremental splitter for a TCP byte stream.
class FrameReader {
  constructor(maxFrame) {
    this.maxFrame = maxFrame || MAX_FRAME;
    this.buf = Buffer.alloc(0);
  }

  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([ this.buf, chunk ]) : chunk;
    const frames = [];
    for (;;) {
      if (this.buf.length < 4) break;
      const length = this.buf.readInt32BE(0);
      if (length < 4 || length > this.maxFrame) {
        throw new Error(`bad frame length ${length}`);
      }
      if (this.buf.length < 4 + length) break;
      frames.push(decodeFrame(this.buf.subarray(0, 4 + length)));
      this.buf = this.buf.subarray(4 + length);
    }
    return frames;
  }
}

function splitAddr(addr) {
  const i = addr.lastIndexOf(':');
  if (i <= 0) throw new Error(`bad address ${addr} (want host:port)`);
  return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
}

// Send one request and wait for the response with the same opaque.
// Resolves { code, remark, extFields, body, header, serializeType, flag }.
// Rejects on connect error, timeout, or a malformed/foreign-type response.
function invoke(addr, code, extFields, body, timeoutMs) {
  const { host, port } = splitAddr(addr);
  const opaque = takeOpaque();
  const frame = encodeFrame({ code, opaque, flag: 0, extFields, body });
  return new Promise((resolve, reject) => {
    const reader = new FrameReader();
    let done = false;
    const sock = net.connect({ host, port });
    const finish = (err, val) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err); else resolve(val);
    };
    const timer = setTimeout(() => {
      finish(new Error(`no response to request code ${code} from ${addr} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(frame));
    sock.on('error', err => finish(new Error(`${addr}: ${err.message}`)));
    sock.on('close', () => finish(new Error(`${addr} closed the connection before answering code ${code}`)));
    sock.on('data', chunk => {
      let frames;
      try {
        frames = reader.push(chunk);
      } catch (err) {
        finish(new Error(`${addr}: undecodable answer to code ${code}: ${err.message}`));
        return;
      }
      for (const f of frames) {
        if (f.serializeType !== SERIALIZE_JSON) {
          finish(new Error(`${addr} answered code ${code} with serialize type ${f.serializeType}; ` +
            'ali-ons only reads JSON headers (type 0)'));
          return;
        }
        const h = f.header || {};
        if (h.opaque !== opaque) continue; // not ours (a server-initiated request, say)
        if (((h.flag || 0) & FLAG_RESPONSE) === 0) {
          finish(new Error(`${addr} answered code ${code} without flag bit 0 (response); ` +
            'ali-ons would take it for a request and time out'));
          return;
        }
        finish(null, {
          code: h.code,
          remark: h.remark,
          extFields: h.extFields || {},
          body: f.body,
          header: h,
          flag: h.flag,
          serializeType: f.serializeType,
        });
        return;
      }
    });
  });
}

module.exports = {
  SERIALIZE_JSON,
  FLAG_RESPONSE,
  FLAG_ONEWAY,
  MAX_FRAME,
  takeOpaque,
  encodeFrame,
  decodeFrame,
  FrameReader,
  splitAddr,
  invoke,
};
