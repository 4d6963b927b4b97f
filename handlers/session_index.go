package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"ledgerline/store"
)

// The session index keeps, per user, a Redis hash of their live sessions: session id → where and when.
// Each session carries its id; a request whose id is no longer in the hash is signed out. Ending one
// session (HDEL) or all of a user's sessions (DEL) therefore takes effect on the very next request, on every
// instance, without ever scanning Redis keys.

const sessSID = "sid"

// SessionInfo describes one live session for the user's "Sessions" list.
type SessionInfo struct {
	ID        string    `json:"-"`
	Device    string    `json:"device"`
	ClientIP  string    `json:"ip"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
}

// lastSeenEvery bounds how often a session's last-seen time is written.
const lastSeenEvery = time.Minute

func (h *Handler) sessionIndexKey(userID store.ID) string {
	return h.prefix + "user_sessions:" + userID.String()
}

// sessionIndexAdd records a new session of the user and returns its id.
func (h *Handler) sessionIndexAdd(ctx context.Context, userID store.ID, device, ip string) (string, error) {
	sid := randomToken(16)
	now := time.Now().UTC()
	info, _ := json.Marshal(SessionInfo{Device: device, ClientIP: ip, CreatedAt: now, LastSeen: now})
	conn, err := h.redis.GetContext(ctx)
	if err != nil {
		return "", errSessionsUnavailable
	}
	defer conn.Close()
	key := h.sessionIndexKey(userID)
	_ = conn.Send("HSET", key, sid, info)
	_ = conn.Send("EXPIRE", key, int(h.sessions.Lifetime.Seconds()))
	if _, err := conn.Do(""); err != nil {
		return "", errSessionsUnavailable
	}
	return sid, nil
}

// sessionIndexTouch reports whether session sid of the user is still live, and refreshes its last-seen
// time and address at most once a minute.
func (h *Handler) sessionIndexTouch(ctx context.Context, userID store.ID, sid, ip string) (bool, error) {
	conn, err := h.redis.GetContext(ctx)
	if err != nil {
		return false, errSessionsUnavailable
	}
	defer conn.Close()
	key := h.sessionIndexKey(userID)
	raw, err := redis.Bytes(conn.Do("HGET", key, sid))
	if err == redis.ErrNil {
		return false, nil
	}
	if err != nil {
		return false, errSessionsUnavailable
	}
	var info SessionInfo
	if json.Unmarshal(raw, &info) == nil && (time.Since(info.LastSeen) > lastSeenEvery || info.ClientIP != ip) {
		info.LastSeen, info.ClientIP = time.Now().UTC(), ip
		b, _ := json.Marshal(info)
		// HSETEX-like: only rewrite while the field still exists, so a concurrent sign-out wins.
		if _, err := conn.Do("EVAL", `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
			return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 0`, 1, key, sid, b); err != nil {
			return false, errSessionsUnavailable
		}
	}
	return true, nil
}

// SessionsList returns the user's live sessions, newest first.
func (h *Handler) sessionsList(ctx context.Context, userID store.ID) ([]SessionInfo, error) {
	conn, err := h.redis.GetContext(ctx)
	if err != nil {
		return nil, errSessionsUnavailable
	}
	defer conn.Close()
	m, err := redis.StringMap(conn.Do("HGETALL", h.sessionIndexKey(userID)))
	if err != nil {
		return nil, errSessionsUnavailable
	}
	out := make([]SessionInfo, 0, len(m))
	for sid, raw := range m {
		var info SessionInfo
		if json.Unmarshal([]byte(raw), &info) != nil {
			continue
		}
		info.ID = sid
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b SessionInfo) int { return b.LastSeen.Compare(a.LastSeen) })
	return out, nil
}

// sessionEnd ends one session of the user.
func (h *Handler) sessionEnd(ctx context.Context, userID store.ID, sid string) error {
	conn, err := h.redis.GetContext(ctx)
	if err != nil {
		return errSessionsUnavailable
	}
	defer conn.Close()
	if _, err := conn.Do("HDEL", h.sessionIndexKey(userID), sid); err != nil {
		return fmt.Errorf("error ending session: %w", err)
	}
	return nil
}

// sessionsEndAll ends every session of the user except keep (pass "" to end them all).
func (h *Handler) sessionsEndAll(ctx context.Context, userID store.ID, keep string) error {
	conn, err := h.redis.GetContext(ctx)
	if err != nil {
		return errSessionsUnavailable
	}
	defer conn.Close()
	key := h.sessionIndexKey(userID)
	if keep == "" {
		_, err = conn.Do("DEL", key)
	} else {
		_, err = conn.Do("EVAL", `local v = redis.call('HGET', KEYS[1], ARGV[1])
			redis.call('DEL', KEYS[1])
			if v then redis.call('HSET', KEYS[1], ARGV[1], v) redis.call('EXPIRE', KEYS[1], ARGV[2]) end
			return 1`, 1, key, keep, int(h.sessions.Lifetime.Seconds()))
	}
	if err != nil {
		return fmt.Errorf("error ending sessions: %w", err)
	}
	return nil
}

// deviceName makes a short, human description of a User-Agent ("Firefox on Linux").
func deviceName(ua string) string {
	browser := "Unknown browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"},
		{"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	osName := ""
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			osName = o.name
			break
		}
	}
	if osName == "" {
		return browser
	}
	return browser + " on " + osName
}
