/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * kmq_topicfile.h - <store>/config/topics.json, the store's topic table.
 *
 * The one reader and writer of the file, shared by kmq.ko and userspace.
 * The file has RocketMQ's shape, so a RocketMQ broker's own file is read
 * as it is:
 *
 *   {
 *     "dataVersion": {"counter": 3, "timestamp": 1700000000000},
 *     "topicConfigTable": {
 *       "TopicA": {"order": false, "perm": 6, "readQueueNums": 8,
 *                  "topicFilterType": "SINGLE_TAG", "topicName": "TopicA",
 *                  "topicSysFlag": 0, "writeQueueNums": 8},
 *       ...
 *     }
 *   }
 *
 * The reader takes standard JSON (RFC 8259) plus what RocketMQ's fastjson
 * writes: object keys may be bare words ({0:350}). It keeps of each topic
 * its name, readQueueNums, writeQueueNums and perm, and skips every other
 * field. The writer writes what jansson writes with JSON_INDENT(2) |
 * JSON_SORT_KEYS for the same table, byte for byte.
 */
#ifndef _UAPI_KMQ_TOPICFILE_H
#define _UAPI_KMQ_TOPICFILE_H

#include "kmq_types.h"

/* Size of a topic name with its NUL: RocketMQ's 127 bytes at most. */
#define KMQ_TOPICFILE_NAME_SIZE		128
/* Nesting of objects and arrays the reader follows (the file needs 4). */
#define KMQ_TOPICFILE_DEPTH_MAX		32
/* perm when an entry has none: PERM_READ | PERM_WRITE. */
#define KMQ_TOPICFILE_PERM_DEFAULT	6
/* The largest queue count or perm: a Java int. */
#define KMQ_TOPICFILE_VALUE_MAX		0x7fffffffu

/**
 * struct kmq_topicfile_entry - one topic of the table.
 * @name: topic name, NUL-terminated, RocketMQ-legal: 1 to 127 bytes of
 *	[%|a-zA-Z0-9_-]
 * @read_queues: readQueueNums, 0 to KMQ_TOPICFILE_VALUE_MAX
 * @write_queues: writeQueueNums, 0 to KMQ_TOPICFILE_VALUE_MAX
 * @perm: perm, 0 to KMQ_TOPICFILE_VALUE_MAX (KMQ_TOPICFILE_PERM_DEFAULT
 *	when the file has none)
 */
struct kmq_topicfile_entry {
	char name[KMQ_TOPICFILE_NAME_SIZE];
	__u32 read_queues, write_queues, perm;
};

/* First code of enum kmq_tf_err: above every errno a syscall returns and
 * below the kernel's internal ones (512), apart from enum kmq_fmt_err.
 */
#define KMQ_TF_EBASE	256

/**
 * enum kmq_tf_err - why the topic file codec refused bytes or entries.
 * Functions return the negated value; each kind of damage has its own.
 * @KMQ_TF_ETRUNC: the text ends inside the document
 * @KMQ_TF_EDEPTH: objects and arrays nest deeper than
 *	KMQ_TOPICFILE_DEPTH_MAX
 * @KMQ_TF_EVALUE: no value starts with this character
 * @KMQ_TF_ELITERAL: a word that is not true, false or null
 * @KMQ_TF_ENUMBER: a number that breaks JSON's grammar (01, 1., -, 1e)
 * @KMQ_TF_ESTRING: a raw control character (below 0x20) in a string
 * @KMQ_TF_EESCAPE: an unknown escape, bad \u hex digits or a lone
 *	surrogate
 * @KMQ_TF_EUTF8: bytes of a string or key that are not UTF-8
 * @KMQ_TF_EKEY: an object member that does not start with a key (a
 *	string or a bare word of [A-Za-z0-9_$%|.+-])
 * @KMQ_TF_ECOLON: a key not followed by ':'
 * @KMQ_TF_ESEP: a member or element not followed by ',' or the close
 * @KMQ_TF_ETRAILING: something after the document but white space
 * @KMQ_TF_EROOT: the document is not an object
 * @KMQ_TF_ENOTABLE: no "topicConfigTable" at the top level
 * @KMQ_TF_ETABLE: "topicConfigTable" is not an object
 * @KMQ_TF_EDUPTABLE: "topicConfigTable" appears twice
 * @KMQ_TF_EENTRY: a topic's value is not an object
 * @KMQ_TF_ENAME: a topic name (topicName, or the key without one) is
 *	empty, longer than 127 bytes or has a character outside
 *	[%|a-zA-Z0-9_-]
 * @KMQ_TF_EFIELD: topicName is not a string, or a queue count or perm is
 *	not a number
 * @KMQ_TF_ERANGE: a queue count or perm is not an integer from 0 to
 *	KMQ_TOPICFILE_VALUE_MAX (negative, fraction, exponent, too big)
 * @KMQ_TF_ENOQUEUES: a topic without readQueueNums or writeQueueNums
 * @KMQ_TF_ENOSPACE: the output buffer is too small
 * @KMQ_TF_EORDER: entries to write are not sorted by name, or repeat one
 * @KMQ_TF_ETOOBIG: the document would be longer than 2^31 - 1 bytes
 */
enum kmq_tf_err {
	KMQ_TF_ETRUNC = KMQ_TF_EBASE,
	KMQ_TF_EDEPTH,
	KMQ_TF_EVALUE,
	KMQ_TF_ELITERAL,
	KMQ_TF_ENUMBER,
	KMQ_TF_ESTRING,
	KMQ_TF_EESCAPE,
	KMQ_TF_EUTF8,
	KMQ_TF_EKEY,
	KMQ_TF_ECOLON,
	KMQ_TF_ESEP,
	KMQ_TF_ETRAILING,
	KMQ_TF_EROOT,
	KMQ_TF_ENOTABLE,
	KMQ_TF_ETABLE,
	KMQ_TF_EDUPTABLE,
	KMQ_TF_EENTRY,
	KMQ_TF_ENAME,
	KMQ_TF_EFIELD,
	KMQ_TF_ERANGE,
	KMQ_TF_ENOQUEUES,
	KMQ_TF_ENOSPACE,
	KMQ_TF_EORDER,
	KMQ_TF_ETOOBIG,
	KMQ_TF_ELAST
};

/**
 * kmq_topicfile_parse() - read a topics.json and hand over each topic.
 * @buf: the file's bytes, not necessarily NUL-terminated
 * @len: their number
 * @fn: called once per topic in document order; a name the file holds
 *	twice is handed over twice (jansson and RocketMQ keep the last)
 * @arg: passed to @fn
 *
 * The whole document is checked first and @fn is called only when all
 * of it is valid, so an error never leaves a caller with half a table.
 * Reads nothing past @len, allocates nothing and does not recurse.
 *
 * Return: 0; the first non-zero value @fn returns, which stops the walk;
 * or a negated enum kmq_tf_err.
 */
int kmq_topicfile_parse(const char *buf, __u32 len,
			int (*fn)(void *arg, const struct kmq_topicfile_entry *e),
			void *arg);

/**
 * kmq_topicfile_emit() - write a topics.json.
 * @buf: where to write, or NULL to only compute the length
 * @cap: size of @buf (ignored when @buf is NULL)
 * @e: the topics, sorted by name in strcmp() order, no name twice
 * @n: their number
 * @timestamp_ms: dataVersion.timestamp
 * @counter: dataVersion.counter
 *
 * Writes exactly what jansson's json_dumps(JSON_INDENT(2) |
 * JSON_SORT_KEYS) writes for the same table: no NUL and no newline at
 * the end. Each topic gets topicName, readQueueNums, writeQueueNums,
 * perm, topicFilterType "SINGLE_TAG", topicSysFlag 0 and order false.
 * Call it with @buf NULL for the length to allocate, then again.
 *
 * Return: the length of the document (written to @buf unless NULL), or
 * -KMQ_TF_ENOSPACE when it is longer than @cap (nothing is written past
 * @cap), -KMQ_TF_ENAME, -KMQ_TF_ERANGE (a value over
 * KMQ_TOPICFILE_VALUE_MAX), -KMQ_TF_EORDER or -KMQ_TF_ETOOBIG.
 */
int kmq_topicfile_emit(char *buf, __u32 cap,
		       const struct kmq_topicfile_entry *e, __u32 n,
		       __u64 timestamp_ms, __u64 counter);

/**
 * kmq_topicfile_strerror() - a short English text for a topic file error.
 * @err: a negated enum kmq_tf_err (the positive value is accepted too)
 *
 * Return: a static string, "unknown topic file error" for other values.
 */
const char *kmq_topicfile_strerror(int err);

#endif /* _UAPI_KMQ_TOPICFILE_H */
