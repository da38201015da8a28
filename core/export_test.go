package core

import (
	"context"
	"time"
)

// UsersFromIndex is the plain page read from the store's name index, as
// served before the users' index is built.
func UsersFromIndex(c *Core, from, limit int) (UserPage, error) { return c.usersFromIndex(from, limit) }

// SettleUsersIndex builds the users' index if need be and waits until no
// build runs.
func SettleUsersIndex(c *Core) error {
	if err := c.dir.wait(context.Background()); err != nil {
		return err
	}
	for {
		c.dir.mu.RLock()
		s := c.dir.state
		c.dir.mu.RUnlock()
		if s == dirReady {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
}

// Backoff is the wait after the n-th failed delivery (n ≥ 1): 5 s, 10 s,
// 20 s … and at most MaxRetry.
func Backoff(n int) time.Duration { return backoff(FirstRetry, n) }

// UsersHay is the length and capacity of the users' index text.
func UsersHay(c *Core) (n, capacity int) {
	c.dir.mu.RLock()
	defer c.dir.mu.RUnlock()
	return len(c.dir.data.hay), cap(c.dir.data.hay)
}
