package rules

import (
	"context"
	"crypto/sha256"
	"os"
	"time"
)

// Watch reads path every interval until ctx ends, and hands each new
// version of its content to onLoad once it is valid, or its errors to
// onError (the caller keeps the rules it has). The first version read is
// new too: a caller that loaded the file already gets an equal Set, which
// it can tell by its Version. A file that cannot be read is reported to
// onError once, until it can be read again.
//
// Watch compares content, not modification times or inotify events, so it
// follows every way a file gets replaced: written in place, renamed over by
// an editor, or a Kubernetes ConfigMap swapping the "..data" symlink to a
// new directory, which changes neither the file's name nor its mtime. A
// new version is taken once it reads the same at two polls in a row, so
// that a file caught half-written in place is not reported as broken.
func Watch(ctx context.Context, path string, interval time.Duration, onLoad func(*Set), onError func(error)) {
	var taken, pending [sha256.Size]byte
	var readErr error
	poll := func() {
		data, err := os.ReadFile(path)
		if err != nil {
			if readErr == nil || readErr.Error() != err.Error() {
				onError(err)
			}
			readErr = err
			return
		}
		readErr = nil
		sum := sha256.Sum256(data)
		if sum == taken {
			pending = sum
			return
		}
		if sum != pending {
			pending = sum
			return
		}
		taken = sum
		s, err := Parse(path, data)
		if err != nil {
			onError(err)
			return
		}
		onLoad(s)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		poll()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
