"""k6 load tests for the execution API of `rb serve`.

- script.py   what a load test sends and how hard: render a k6 script from
              the package's jinja2 template (templates/k6.js.j2);
- k6.py       find the k6 binary and run a script with it;
- summary.py  read k6's end-of-test summary and report it against the thresholds.

jinja2 and subprocesses are imported only here, never by `rb --help`.
"""
