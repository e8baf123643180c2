//go:build race

package main

// raceDetector: the tests run under the race detector, so the binary they
// build for subprocesses is built with it too. It then reuses the packages
// already compiled for the tests instead of compiling every dependency a
// second time (minutes on a cold cache), and a race in a subprocess fails
// its test (exit 66) like one in the test itself.
const raceDetector = true
