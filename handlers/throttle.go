package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"ledgerline/store"
)

// LoginLimits bound failed sign-ins per account and per client address within Window. Counters live in
// Redis, so every instance behind the load balancer shares them.
type LoginLimits struct {
	PerAccount int
	PerAddress int
	Window     time.Duration
}

func (l LoginLimits) withDefaults() LoginLimits {
	if l.PerAccount == 0 {
		l.PerAccount = 5
	}
	if l.PerAddress == 0 {
		l.PerAddress = 30
	}
	if l.Window == 0 {
		l.Window = 15 * time.Minute
	}
	return l
}

func (h *Handler) throttleKeys(email, ip string) (account, address string) {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return h.prefix + "throttle:login:account:" + hex.EncodeToString(sum[:16]),
		h.prefix + "throttle:login:address:" + ip
}

// throttleCounter is one Redis counter with its limit.
type throttleCounter struct {
	key   string
	limit int
}

func (h *Handler) loginCounters(email, ip string) []throttleCounter {
	account, address := h.throttleKeys(email, ip)
	return []throttleCounter{{account, h.limits.PerAccount}, {address, h.limits.PerAddress}}
}

// addressCounter counts only the client address: asking for a reset link must not lock the account.
func (h *Handler) addressCounter(ip string) []throttleCounter {
	_, address := h.throttleKeys("", ip)
	return []throttleCounter{{address, h.limits.PerAddress}}
}

// loginAllowed returns a Throttled error saying how long to wait when either counter is at its limit.
func (h *Handler) loginAllowed(ctx context.Context, email, ip string) error {
	return h.throttleCheck(ctx, h.loginCounters(email, ip))
}

// loginFailed counts a failure against the account and the address; the window starts at the first one.
func (h *Handler) loginFailed(ctx context.Context, email, ip string) error {
	return h.throttleCount(ctx, h.loginCounters(email, ip))
}

func (h *Handler) throttleCheck(ctx context.Context, counters []throttleCounter) error {
	conn, err := h.redis.GetContext(ctx)
	if err != nil {
		return errSessionsUnavailable
	}
	defer conn.Close()
	for _, k := range counters {
		n, err := redis.Int(conn.Do("GET", k.key))
		if err == redis.ErrNil {
			continue
		}
		if err != nil {
			return errSessionsUnavailable
		}
		if n >= k.limit {
			ttl, err := redis.Int(conn.Do("TTL", k.key))
			if err != nil {
				return errSessionsUnavailable
			}
			minutes := (ttl + 59) / 60
			if minutes < 1 {
				minutes = 1
			}
			unit := "minutes"
			if minutes == 1 {
				unit = "minute"
			}
			return store.Errorf(store.Throttled, "Too many failed sign-in attempts. Try again in %d %s.", minutes, unit)
		}
	}
	return nil
}

func (h *Handler) throttleCount(ctx context.Context, counters []throttleCounter) error {
	conn, err := h.redis.GetContext(ctx)
	if err != nil {
		return errSessionsUnavailable
	}
	defer conn.Close()
	secs := int(h.limits.Window.Seconds())
	for _, k := range counters {
		_ = conn.Send("INCR", k.key)
		_ = conn.Send("EXPIRE", k.key, secs, "NX")
	}
	if _, err := conn.Do(""); err != nil {
		return fmt.Errorf("error counting failed sign-in: %w", err)
	}
	return nil
}

// loginSucceeded clears the account's counter (not the address's: one good password from an address
// does not excuse many wrong ones for other accounts).
func (h *Handler) loginSucceeded(ctx context.Context, email string) {
	account, _ := h.throttleKeys(email, "")
	conn, err := h.redis.GetContext(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = conn.Do("DEL", account)
}
