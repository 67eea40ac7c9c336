package aetherkv_test

import (
	"errors"
	"fmt"
	"log"
	"os"

	aetherkv "github.com/aether-kv/aether-kv"
)

func Example() {
	dir, err := os.MkdirTemp("", "aetherkv-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Put([]byte("user:1"), []byte("John Doe")); err != nil {
		log.Fatal(err)
	}
	v, err := db.Get([]byte("user:1"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(v))

	if err := db.Delete([]byte("user:1")); err != nil {
		log.Fatal(err)
	}
	_, err = db.Get([]byte("user:1"))
	fmt.Println(errors.Is(err, aetherkv.ErrNotFound))

	if err := db.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// John Doe
	// true
}
