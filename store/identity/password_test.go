package identity_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"

	"ledgerline/store/identity"
)

func TestPassword(t *testing.T) {
	t.Parallel()

	const password = "correct horse battery staple"
	hash, err := identity.HashPassword(password)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$"), hash)
	require.NotContains(t, hash, password)

	t.Run("Right", func(t *testing.T) {
		t.Parallel()
		ok, err := identity.VerifyPassword(hash, password)
		require.NoError(t, err)
		require.True(t, ok)
	})

	t.Run("Wrong", func(t *testing.T) {
		t.Parallel()
		for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", password + " "} {
			ok, err := identity.VerifyPassword(hash, wrong)
			require.NoError(t, err)
			require.False(t, ok, "%q", wrong)
		}
	})

	t.Run("SaltedEachTime", func(t *testing.T) {
		t.Parallel()
		again, err := identity.HashPassword(password)
		require.NoError(t, err)
		require.NotEqual(t, hash, again)
		ok, err := identity.VerifyPassword(again, password)
		require.NoError(t, err)
		require.True(t, ok)
	})

	t.Run("OlderParametersStillVerify", func(t *testing.T) {
		t.Parallel()
		// Parameters travel in the hash, so raising them later keeps old hashes working.
		b64 := base64.RawStdEncoding
		salt := []byte("0123456789abcdef")
		key := argon2.IDKey([]byte(password), salt, 1, 8*1024, 2, 32)
		old := fmt.Sprintf("$argon2id$v=19$m=8192,t=1,p=2$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
		ok, err := identity.VerifyPassword(old, password)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = identity.VerifyPassword(old, "something else entirely")
		require.NoError(t, err)
		require.False(t, ok)
	})

	t.Run("MalformedHash", func(t *testing.T) {
		t.Parallel()
		parts := strings.Split(hash, "$") // "", "argon2id", "v=19", "m=...,t=...,p=...", salt, key
		with := func(i int, v string) string {
			p := append([]string(nil), parts...)
			p[i] = v
			return strings.Join(p, "$")
		}
		for _, tc := range []struct {
			name string
			hash string
		}{
			{"Empty", ""},
			{"Plaintext", password},
			{"Bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
			{"TooFewParts", strings.Join(parts[:5], "$")},
			{"TooManyParts", hash + "$extra"},
			{"Argon2i", with(1, "argon2i")},
			{"OtherVersion", with(2, "v=16")},
			{"NoVersion", with(2, "version")},
			{"BadParameters", with(3, "m=lots,t=2,p=1")},
			{"ThreadsOverflow", with(3, "m=19456,t=2,p=300")},
			{"ZeroPasses", with(3, "m=19456,t=0,p=1")},
			{"ZeroThreads", with(3, "m=19456,t=2,p=0")},
			{"BadSalt", with(4, "not base64!")},
			{"BadKey", with(5, "not base64!")},
			{"EmptyKey", with(5, "")},
			{"EmptySalt", with(4, "")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				var ok bool
				var err error
				require.NotPanics(t, func() { ok, err = identity.VerifyPassword(tc.hash, password) })
				require.Error(t, err)
				require.False(t, ok)
			})
		}
	})
}
