//go:build race

package server_test

// raceEnabled: the tests run under the race detector, whose shadow memory
// makes an idle server take hundreds of megabytes of resident memory.
const raceEnabled = true
