package server

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/tidwall/redcon"
	"golang.org/x/sys/unix"
)

// forwardTimeout bounds a forwarded command's round trip to the leader;
// a write waits at most cluster.Config.ApplyTimeout (10 s) to commit.
const forwardTimeout = 15 * time.Second

// forwarder keeps connections from a follower to the leader, over which
// it sends the commands its clients give it, one at a time per
// connection. Each connection says RAFT FORWARDED first, so that a node
// that is no longer the leader answers TRYAGAIN instead of forwarding the
// command again.
type forwarder struct {
	password string
	mu       sync.Mutex
	idle     map[forwardKey][]*forwardConn
}

type forwardKey struct {
	addr  string
	resp3 bool
}

type forwardConn struct {
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// maxIdleForward is the most idle connections kept per leader address.
const maxIdleForward = 16

// errNotSent marks a failure before the command was sent: it was not run.
var errNotSent = errors.New("not sent")

// errLeaderChanged ends the wait for a forwarded command's reply when
// another node has become leader: the old leader may never answer.
var errLeaderChanged = errors.New("another node became leader while the command was under way")

// do sends args to the leader at addr and appends its raw reply to dst.
// It gives up when changed reports that the leader is another node.
func (f *forwarder) do(addr string, resp3 bool, args [][]byte, dst []byte, changed func() bool) ([]byte, error) {
	key := forwardKey{addr, resp3}
	fc, err := f.get(key)
	if err != nil {
		return dst, fmt.Errorf("%w: %w", errNotSent, err)
	}
	fc.nc.SetDeadline(time.Now().Add(forwardTimeout))
	writeCommand(fc.bw, args)
	if err := fc.bw.Flush(); err != nil {
		fc.nc.Close()
		return dst, err
	}
	n := len(dst)
	type result struct {
		dst []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		d, err := readReply(fc.br, dst)
		done <- result{d, err}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case r := <-done:
			if r.err != nil {
				fc.nc.Close()
				return r.dst[:n], r.err
			}
			f.put(key, fc)
			return r.dst, nil
		case <-tick.C:
			if changed() {
				fc.nc.Close()
				r := <-done
				return r.dst[:n], errLeaderChanged
			}
		}
	}
}

func (f *forwarder) get(key forwardKey) (*forwardConn, error) {
	for {
		f.mu.Lock()
		list := f.idle[key]
		if len(list) == 0 {
			f.mu.Unlock()
			break
		}
		fc := list[len(list)-1]
		f.idle[key] = list[:len(list)-1]
		f.mu.Unlock()
		if fc.open() {
			return fc, nil
		}
		fc.nc.Close() // the leader closed it, or restarted: sending on it would fail after the fact
	}
	nc, err := net.DialTimeout("tcp", key.addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	fc := &forwardConn{nc: nc, br: bufio.NewReader(nc), bw: bufio.NewWriter(nc)}
	nc.SetDeadline(time.Now().Add(time.Second)) // the leader answers these at once, unless it is paused or gone
	var setup [][][]byte
	if key.resp3 {
		hello := [][]byte{[]byte("HELLO"), []byte("3")}
		if f.password != "" {
			hello = append(hello, []byte("AUTH"), []byte("default"), []byte(f.password))
		}
		setup = append(setup, hello)
	} else if f.password != "" {
		setup = append(setup, [][]byte{[]byte("AUTH"), []byte(f.password)})
	}
	setup = append(setup, [][]byte{[]byte("RAFT"), []byte("FORWARDED")})
	for _, cmd := range setup {
		writeCommand(fc.bw, cmd)
	}
	if err := fc.bw.Flush(); err != nil {
		nc.Close()
		return nil, err
	}
	for range setup {
		reply, err := readReply(fc.br, nil)
		if err == nil && len(reply) > 0 && reply[0] == '-' {
			err = fmt.Errorf("leader refused the connection: %s", reply[1:len(reply)-2])
		}
		if err != nil {
			nc.Close()
			return nil, err
		}
	}
	return fc, nil
}

// open reports whether the connection is still open and has nothing
// unread, by peeking at the socket without waiting: end of file, an error
// or stray bytes say it cannot be used.
func (fc *forwardConn) open() bool {
	if fc.br.Buffered() > 0 {
		return false // a stray reply: the connection is out of step
	}
	sc, ok := fc.nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		alive = errors.Is(err, unix.EAGAIN)
		return true // never wait
	})
	return err == nil && alive
}

func (f *forwarder) put(key forwardKey, fc *forwardConn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.idle == nil {
		f.idle = make(map[forwardKey][]*forwardConn)
	}
	if len(f.idle[key]) >= maxIdleForward {
		fc.nc.Close()
		return
	}
	f.idle[key] = append(f.idle[key], fc)
}

// close closes the idle connections.
func (f *forwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, list := range f.idle {
		for _, fc := range list {
			fc.nc.Close()
		}
	}
	f.idle = nil
}

// writeCommand writes args as a RESP array of bulk strings.
func writeCommand(w *bufio.Writer, args [][]byte) {
	b := redcon.AppendArray(w.AvailableBuffer(), len(args))
	for _, a := range args {
		b = redcon.AppendBulk(b, a)
	}
	w.Write(b)
}
