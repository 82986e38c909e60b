// `npm run bench [-- NAME...]`: every benchmark (or the named ones), each beside what a user would otherwise run, on
// one sandbox started for the run (with the demo preset) and stopped at the end. Prints the table and writes
// bench/results/<name>.json and bench/results/latest.md. `-- --list` lists the benchmarks.
// BENCH_SANDBOX_DIR=DIR uses a demo sandbox already running in DIR (and leaves it running).
import { big } from './big.js';
import { drain } from './drain.js';
import { heal } from './heal.js';
import { migrate } from './migrate.js';
import { restart } from './restart.js';
import { rebalance } from './rebalance.js';
import { main } from './runner.js';
import { startup } from './startup.js';
import { status } from './status.js';

// start-up first (nothing else running), the 150-node cluster last (its servers share the CPU until it is deleted)
export const BENCHMARKS = [startup, status, heal, drain, restart, migrate, rebalance, big];

// exit even if a client somewhere still holds a socket (a probe's sentinel connection, a port-forward)
process.exit(await main(BENCHMARKS, process.argv.slice(2)));
