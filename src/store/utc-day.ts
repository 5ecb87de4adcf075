/** The UTC day a time falls on, as stored (YYYY-MM-DD): daily spend and report rows are keyed by it. */
export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
