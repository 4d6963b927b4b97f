package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// goBenchmarks are the results of the Go benchmarks that `make bench` runs before the load generator
// (BenchmarkMiddlewareOverhead in handlers, BenchmarkRiverNoop in jobs): by benchmark name (without the
// -GOMAXPROCS suffix), each reported metric by unit ("overhead-p50-ms", "jobs/s", ...).
type goBenchmarks map[string]map[string]float64

// readGoBenchmarks parses `go test -bench` output files; a missing file is skipped (the report then says
// the measurement did not run).
func readGoBenchmarks(paths []string) (goBenchmarks, error) {
	out := goBenchmarks{}
	for _, p := range paths {
		f, err := os.Open(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
				continue
			}
			name := fields[0]
			if i := strings.LastIndexByte(name, '-'); i > 0 {
				name = name[:i]
			}
			metrics := map[string]float64{}
			// name, iterations, then value-unit pairs.
			for i := 2; i+1 < len(fields); i += 2 {
				if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
					metrics[fields[i+1]] = v
				}
			}
			out[name] = metrics
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
