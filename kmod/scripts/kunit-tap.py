#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# kunit-tap.py - turn the KTAP of kmq.ko's KUnit suites into TAP lines.
#
# Reads the KTAP the VM wrote (one results file per suite, from
# /sys/kernel/debug/kunit/<suite>/results), joins them into one KTAP
# document, parses it with the kernel's own KTAP parser (kunit_parser.py of
# tools/testing/kunit, what `kunit.py parse` uses) and prints one TAP line
# per test case, "suite.case", numbered from --start. Failed cases carry
# their log (and the failed parameters of a parameterized case) as TAP
# diagnostics; kunit.py's summary follows as diagnostics too. A suite named
# with --expect that did not report fails.
#
# Usage: kunit-tap.py --kunit-dir DIR --start N [--expect SUITE]... FILE
# Prints the TAP lines; the last stdout line is "count=<lines printed>".
# Exit status 0 whether tests passed or not (the TAP lines say that).

import argparse
import io
import re
import sys


def load_parser(kunit_dir):
	sys.path.insert(0, kunit_dir)
	import kunit_parser
	import kunit_printer

	# Keep kunit.py's human output, but as TAP diagnostics.
	buf = io.StringIO()
	kunit_parser.stdout = kunit_printer.Printer(buf)
	return kunit_parser, buf


def join_documents(text):
	"""Each results file is 'KTAP version 1', '1..1', then the suite."""
	suites = []
	cur = None
	for line in text.splitlines():
		if line.startswith('KTAP version'):
			cur = []
			suites.append(cur)
			continue
		if cur is None or re.match(r'^1\.\.\d+$', line):
			continue
		cur.append(line)
	out = ['KTAP version 1', '1..%d' % len(suites)]
	for i, lines in enumerate(suites, 1):
		for line in lines:
			m = re.match(r'^(ok|not ok) \d+ (.*)$', line)
			out.append('%s %d %s' % (m.group(1), i, m.group(2))
				   if m else line)
	return out


def diag(lines, out):
	for line in lines:
		out.append('# ' + line.rstrip())


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument('--kunit-dir', required=True)
	ap.add_argument('--start', type=int, default=1)
	ap.add_argument('--expect', action='append', default=[])
	ap.add_argument('file')
	args = ap.parse_args()

	kp, human = load_parser(args.kunit_dir)
	with open(args.file, errors='replace') as f:
		ktap = join_documents(f.read())
	main_test = kp.parse_run_tests(ktap)

	ok_status = (kp.TestStatus.SUCCESS,)
	skip_status = (kp.TestStatus.SKIPPED,)
	n = args.start
	out = []
	seen = set()
	for suite in main_test.subtests:
		seen.add(suite.name)
		cases = suite.subtests or [suite]
		for case in cases:
			name = suite.name if case is suite else \
				'%s.%s' % (suite.name, case.name)
			nparams = len(case.subtests)
			what = name + (' (%d parameters)' % nparams
				       if nparams else '')
			if case.status in ok_status:
				out.append('ok %d - %s' % (n, what))
			elif case.status in skip_status:
				out.append('ok %d - %s # SKIP' % (n, what))
			else:
				out.append('not ok %d - %s (%s)' %
					   (n, what, case.status.name))
				diag(case.log, out)
				for p in case.subtests:
					if p.status not in ok_status + \
					   skip_status:
						out.append('# parameter "%s":'
							   % p.name)
						diag(p.log, out)
			n += 1
		if suite.status not in ok_status + skip_status and \
		   not suite.subtests:
			diag(suite.log, out)
	for name in args.expect:
		if name not in seen:
			out.append('not ok %d - suite %s reported' % (n, name))
			n += 1
	# kunit.py's verdict lines (its full listing repeats the TAP above).
	diag([line for line in human.getvalue().splitlines()
	      if re.search(r'Testing complete|Failures:|\[ERROR\]|'
			   r'\[CRASHED\]', line)], out)
	for line in out:
		print(line)
	print('count=%d' % (n - args.start))


if __name__ == '__main__':
	main()
