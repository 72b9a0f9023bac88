package harness

import "testing"

// testEnv gives a test its own environment, stopped when the test ends;
// a failing test prints the tail of every log.
func testEnv(t *testing.T) *Env {
	t.Helper()
	env := NewEnv(t.TempDir())
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("\n" + env.LogTails(30))
		}
		env.Close()
	})
	return env
}
