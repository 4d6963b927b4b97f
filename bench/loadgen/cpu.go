package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Where a step's CPU time goes, per process family: the server under test (the app, or Fortunes for the
// floor), PostgreSQL (every backend), Redis, this load generator, and everything else on the machine. Per
// request, side by side with the floor, it says why a screen reaches the throughput it does.

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat times (100 on every Linux we run on).
const clockTicks = 100

type cpuFamily int

const (
	famServer cpuFamily = iota
	famPostgres
	famRedis
	famLoadgen
	famOther
	famCount
)

// cpuSplit is CPU seconds by family.
type cpuSplit [famCount]float64

// readSplit reads every process's user+system time from /proc, filed by family; server is the pid of the
// server under test.
func readSplit(server int) cpuSplit {
	var s cpuSplit
	self := os.Getpid()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the process ended meanwhile
		}
		// pid (comm) state ppid ... utime(14) stime(15): comm may hold spaces, so split after its ')'.
		line := string(b)
		open, close := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
		if open < 0 || close < open {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(line[:open]))
		comm := line[open+1 : close]
		f := strings.Fields(line[close+1:])
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		fam := famOther
		switch {
		case pid == server:
			fam = famServer
		case pid == self:
			fam = famLoadgen
		case comm == "postgres":
			fam = famPostgres
		case comm == "redis-server":
			fam = famRedis
		}
		s[fam] += (utime + stime) / clockTicks
	}
	return s
}

// perRequest is the CPU milliseconds per request of each family between before and s (processes that
// started or ended in between count only for their part inside; "other" is noisy for that reason).
func (s cpuSplit) perRequest(before cpuSplit, requests int) cpuSplit {
	var out cpuSplit
	if requests <= 0 {
		return out
	}
	for i := range s {
		out[i] = max(0, s[i]-before[i]) * 1000 / float64(requests)
	}
	return out
}

func (s cpuSplit) total() float64 {
	t := 0.0
	for _, v := range s {
		t += v
	}
	return t
}

// String is the split as the report prints it.
func (s cpuSplit) String() string {
	return fmt.Sprintf("server %.2f, PostgreSQL %.2f, Redis %.2f, load generator %.2f, other %.2f (total %.2f)",
		s[famServer], s[famPostgres], s[famRedis], s[famLoadgen], s[famOther], s.total())
}
