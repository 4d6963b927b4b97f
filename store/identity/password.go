package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane). They are written into each
// hash, so raising them later keeps old hashes verifiable.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

// Password length rules, after NIST SP 800-63B: long enough, no composition rules.
const (
	PasswordMinLength = 12
	PasswordMaxLength = 128
)

// HashPassword returns the PHC-formatted argon2id hash of password.
func HashPassword(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("error reading salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the PHC hash. A malformed hash is an error.
func VerifyPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("unsupported argon2 version")
	}
	var memory, passes uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &threads); err != nil {
		return false, fmt.Errorf("malformed argon2 parameters: %w", err)
	}
	// argon2.IDKey panics on zero passes, zero threads or an empty key.
	if passes < 1 || threads < 1 {
		return false, errors.New("malformed argon2 parameters: passes and threads must be at least 1")
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("malformed argon2 salt: %w", err)
	}
	if len(salt) < 8 {
		return false, errors.New("malformed argon2 salt: shorter than 8 bytes")
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("malformed argon2 key: %w", err)
	}
	if len(want) < 16 {
		return false, errors.New("malformed argon2 key: shorter than 16 bytes")
	}
	got := argon2.IDKey([]byte(password), salt, passes, memory, threads, uint32(len(want))) // #nosec G115 -- a stored hash of 32 bytes
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// validatePassword returns a message telling the user how to fix the password, or "".
func validatePassword(password string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case n < PasswordMinLength:
		return fmt.Sprintf("Enter a password of at least %d characters.", PasswordMinLength)
	case n > PasswordMaxLength:
		return fmt.Sprintf("Enter a password of at most %d characters.", PasswordMaxLength)
	}
	return ""
}
