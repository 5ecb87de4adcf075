// Preloaded into the server under test (NODE_OPTIONS=--require): on SIGUSR2 it prints the
// process's active handles by kind (timers, sockets, files), so a soak can spot leaks from outside.
process.on('SIGUSR2', () => {
  const counts = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] || 0) + 1;
  process.stderr.write(`[resources] ${JSON.stringify(counts)}\n`);
});
