/**
 * One upload request, with progress where the platform can tell it. `fetch` reports no upload
 * progress in browsers, so where `XMLHttpRequest` exists (browsers) and progress is wanted the
 * bytes go through it and `upload.onprogress`; elsewhere (Node) through `fetch`, with
 * `{ loaded: 0 }` at the start and `{ loaded: total }` once the server accepted the file.
 */

export interface UploadProgress {
  /** Bytes of the file sent so far. */
  loaded: number;
  /** The file's size in bytes. */
  total: number;
}

export interface UploadRequest {
  url: string;
  headers: Record<string, string>;
  body: Blob;
  onProgress?: (progress: UploadProgress) => void;
}

/** The server's answer: its status and body text. */
export interface UploadAnswer {
  status: number;
  text: string;
}

/** Posts `body`; answers the server's status and text, or throws when no answer came (network). */
export async function postFile(fetchFn: typeof fetch, request: UploadRequest): Promise<UploadAnswer> {
  const { onProgress, body } = request;
  const total = body.size;
  let last = -1;
  const report = (loaded: number) => {
    // Events repeat and XHR may end short of the total: each value once, never going back.
    if (!onProgress || loaded <= last) return;
    last = loaded;
    onProgress({ loaded, total });
  };
  report(0);
  const answer =
    onProgress && typeof XMLHttpRequest === "function"
      ? await postWithXhr(request, (loaded) => report(Math.min(loaded, total)))
      : await postWithFetch(fetchFn, request);
  if (answer.status >= 200 && answer.status < 300) report(total);
  return answer;
}

async function postWithFetch(fetchFn: typeof fetch, { url, headers, body }: UploadRequest): Promise<UploadAnswer> {
  // A Blob body gives the request its Content-Length, which the server requires.
  const res = await fetchFn(url, { method: "POST", headers, body });
  return { status: res.status, text: await res.text() };
}

function postWithXhr({ url, headers, body }: UploadRequest, progress: (loaded: number) => void): Promise<UploadAnswer> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => progress(event.loaded);
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
    xhr.onerror = () => reject(new Error("the upload failed (network)"));
    xhr.onabort = () => reject(new Error("the upload was aborted"));
    xhr.ontimeout = () => reject(new Error("the upload timed out"));
    xhr.send(body);
  });
}
