// Preloaded (`--import`) into every process a test starts: when the test's process goes away, even
// killed outright, the IPC channel to it closes and this process exits too, so no run leaves one behind.
if (process.channel) {
  // The channel alone must not keep a finished process alive.
  process.channel.unref();
  process.on('disconnect', () => process.exit(1));
}
