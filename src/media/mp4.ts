/**
 * MP4 video: display size and duration read by mp4box (GPAC's pure-JS ISO-BMFF
 * parser; web APIs only, so it runs on Workers too), plus a check that the file
 * is whole, since a truncated MP4 with its `moov` first still parses.
 */
import { createFile, type Movie, MP4BoxBuffer, type Track } from 'mp4box';

export interface Mp4Info {
  width: number;
  height: number;
  durationMs: number;
  /** The longest track's own length; the duration limit applies to it too. */
  tracksMs: number;
}

/** Why an MP4 was refused; the caller maps it to an HTTP problem. */
export type Mp4Problem = { kind: 'corrupt' | 'no_video'; message: string };

/**
 * Walks the top-level boxes: each must fit inside the file and the last must
 * end exactly at its end. A cut-off upload fails here even when its header
 * (`moov`) came first and parses fine.
 */
export function topLevelBoxesComplete(bytes: Uint8Array): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 8) return false;
    let size = view.getUint32(at);
    let header = 8;
    if (size === 1) {
      if (bytes.length - at < 16) return false;
      size = view.getUint32(at + 8) * 2 ** 32 + view.getUint32(at + 12);
      header = 16;
    } else if (size === 0) {
      size = bytes.length - at; // "extends to the end of the file": only the last box may say so
    }
    if (size < header || at + size > bytes.length) return false;
    at += size;
  }
  return at === bytes.length;
}

/** Whether a tkhd transform turns the picture a quarter (90° or 270°), as phones record portrait video. */
function quarterTurn(matrix: Track['matrix'] | undefined): boolean {
  if (!matrix || matrix.length < 4) return false;
  const [a, b, , c, d] = Array.from(matrix as ArrayLike<number>);
  return a === 0 && d === 0 && b !== 0 && c !== 0;
}

/** The parsed movie, and whether every sample it indexes lies inside the file. */
function parse(bytes: Uint8Array): { movie: Movie; samplesInside: boolean } | undefined {
  const file = createFile();
  let movie: Movie | undefined;
  let failed = false;
  file.onReady = (info) => (movie = info);
  file.onError = () => (failed = true);
  const buffer = new MP4BoxBuffer(bytes.byteLength);
  new Uint8Array(buffer).set(bytes);
  buffer.fileStart = 0;
  // mp4box reports malformed boxes on console.error; an upload's defects are
  // the uploader's answer (a 4xx), not our logs. Parsing is synchronous, so
  // the muted window cannot swallow anyone else's output.
  const consoleError = console.error;
  console.error = () => {};
  try {
    file.appendBuffer(buffer, true);
    file.flush();
  } finally {
    console.error = consoleError;
  }
  if (failed || !movie) return undefined;
  // A file cut exactly between `moov` and `mdat` has whole boxes but no media.
  let samplesInside = true;
  for (const track of movie.tracks) {
    for (const sample of file.getTrackById(track.id)?.samples ?? []) {
      if (sample.offset + sample.size > bytes.length) samplesInside = false;
    }
  }
  return { movie, samplesInside };
}

/** How far the movie header's duration may differ from what its tracks hold (audio priming, edit lists). */
export const HEADER_TOLERANCE_MS = 500;

/** A track's length from its own samples (stts, or its fragments' trun): what a player actually plays. */
function trackMs(track: Track): number {
  return track.samples_duration > 0 && track.timescale > 0 ? (track.samples_duration * 1000) / track.timescale : 0;
}

/** What the headers claim: `mvhd`, or for fragmented MP4 (mvhd says 0) the `mehd` fragment duration. */
function headerMs(movie: Movie): number {
  if (movie.duration > 0 && movie.timescale > 0) return (movie.duration * 1000) / movie.timescale;
  const fragments = movie.fragment_duration;
  if (fragments && fragments.num > 0 && fragments.den > 0) return (fragments.num * 1000) / fragments.den;
  return 0;
}

/** Reads an MP4 already recognised by its `ftyp`; a problem instead of throwing on bad input. */
export function readMp4(bytes: Uint8Array): Mp4Info | Mp4Problem {
  const corrupt = (why: string): Mp4Problem => ({ kind: 'corrupt', message: `the MP4 file is truncated or corrupt: ${why}` });
  if (!topLevelBoxesComplete(bytes)) return corrupt('its boxes do not add up to the file (cut off, or damaged)');
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(bytes);
  } catch {
    return corrupt('its headers cannot be parsed');
  }
  if (!parsed?.movie.hasMoov) return corrupt('it has no readable movie header (moov)');
  if (!parsed.samplesInside) return corrupt('its media data is missing or cut off');
  const { movie } = parsed;
  const track = movie.videoTracks[0];
  if (!track) return { kind: 'no_video', message: 'the MP4 file has no video track (audio only?); upload a video' };

  let width = Math.round(track.track_width || track.video?.width || 0);
  let height = Math.round(track.track_height || track.video?.height || 0);
  if (quarterTurn(track.matrix)) [width, height] = [height, width];
  if (!(width > 0 && height > 0 && width <= 65_535 && height <= 65_535))
    return corrupt('its video track has no valid width and height');
  // The duration is taken from the tracks, and a header that disagrees with them is refused:
  // an edited mvhd must not pass a long video off as a short one.
  const tracksMs = Math.max(...movie.tracks.map(trackMs));
  const claimedMs = headerMs(movie);
  if (!(Number.isFinite(tracksMs) && tracksMs > 0)) return corrupt('its tracks hold no timed samples');
  if (claimedMs > 0 && Math.abs(claimedMs - tracksMs) > HEADER_TOLERANCE_MS) {
    return corrupt(`its header says ${(claimedMs / 1000).toFixed(1)} s but its tracks run ${(tracksMs / 1000).toFixed(1)} s`);
  }
  // Reported as the header's presentation length when it agrees (edit lists trim priming samples), else the tracks'.
  const durationMs = Math.round(claimedMs > 0 ? claimedMs : tracksMs);
  return { width, height, durationMs, tracksMs: Math.round(tracksMs) };
}
