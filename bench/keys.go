package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// Every benchmark key is 16 bytes and every value 100 bytes.
const (
	keySize   = 16
	valueSize = 100
)

// benchKey returns a new 16-byte key for i: "key-" and i in 12 decimal
// digits, so that keys sort in the order of i. Each call allocates, because
// some stores keep the slices they are given.
func benchKey(i int) []byte {
	return appendKey(make([]byte, 0, keySize), i)
}

// appendKey appends the key of i to dst.
func appendKey(dst []byte, i int) []byte {
	dst = append(dst, "key-"...)
	var digits [12]byte
	for j := len(digits) - 1; j >= 0; j-- {
		digits[j] = byte('0' + i%10)
		i /= 10
	}
	return append(dst, digits[:]...)
}

// benchValue returns a new 100-byte value for key i written in round r:
// pseudo-random bytes, so that stores that compress gain nothing, and
// different for each key and round, so that a read of the wrong record is
// caught.
func benchValue(i, r int) []byte {
	return appendValue(make([]byte, 0, valueSize), i, r)
}

// appendValue appends the value of key i in round r to dst.
func appendValue(dst []byte, i, r int) []byte {
	x := uint64(i)*0x9E3779B97F4A7C15 ^ uint64(r+1)*0xD1B54A32D192ED03
	var w [8]byte
	for n := 0; n < valueSize; n += 8 {
		// xorshift64*: cheap, and incompressible enough.
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		binary.LittleEndian.PutUint64(w[:], x*0x2545F4914F6CDD1D)
		dst = append(dst, w[:min(8, valueSize-n)]...)
	}
	return dst
}

// dataset holds the keys and values of keys from..to-1 in round r, made in
// advance, one after another in one slice that is never written again (so
// that stores that keep the slices they are given may).
type dataset struct {
	from, to int
	buf      []byte
}

const pairSize = keySize + valueSize

func newDataset(from, to, r int) *dataset {
	buf := make([]byte, 0, (to-from)*pairSize)
	for i := from; i < to; i++ {
		buf = appendKey(buf, i)
		buf = appendValue(buf, i, r)
	}
	return &dataset{from: from, to: to, buf: buf}
}

// newReadSet returns a dataset of n keys drawn at random from 0..keys-1
// by rng, with their values of round r, in the order drawn.
func newReadSet(n, keys, r int, rng *rand.Rand) *dataset {
	buf := make([]byte, 0, n*pairSize)
	for range n {
		i := rng.IntN(keys)
		buf = appendKey(buf, i)
		buf = appendValue(buf, i, r)
	}
	return &dataset{from: 0, to: n, buf: buf}
}

// pair returns the key and value of the n-th key of the dataset.
func (d *dataset) pair(n int) (key, value []byte) {
	p := d.buf[n*pairSize : (n+1)*pairSize : (n+1)*pairSize]
	return p[:keySize:keySize], p[keySize:]
}

// write puts every key of the dataset, in order, on the calling goroutine.
func (d *dataset) write(s Store) error {
	for n := range d.to - d.from {
		k, v := d.pair(n)
		if err := s.Put(k, v); err != nil {
			return fmt.Errorf("put %d: %w", d.from+n, err)
		}
	}
	return nil
}
