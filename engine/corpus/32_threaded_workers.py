"""Parallel checksum workers with threads (skipped on WASI).

Splits a deterministic workload across threading.Thread workers fed by a
queue.Queue, collects results keyed by job id, joins every thread, and
prints results in job order, so the output is independent of scheduling.
Also uses a Lock-protected counter, a Barrier, an Event, a Condition-based
bounded buffer, and concurrent.futures.ThreadPoolExecutor.map (which
returns results in submission order).
"""
import hashlib
import queue
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor, as_completed

N_WORKERS = 4
N_JOBS = 24


def payload(job_id):
    return (f"job-{job_id:03d}:" + "abcdefgh"[job_id % 8] * (200 + 37 * job_id)).encode()


def work(job_id):
    data = payload(job_id)
    return job_id, len(data), zlib.crc32(data), hashlib.sha256(data).hexdigest()[:16]


class Counter:
    def __init__(self):
        self.value = 0
        self.lock = threading.Lock()

    def add(self, n):
        with self.lock:
            self.value += n


def worker(jobs, results, counter, barrier, start_event):
    start_event.wait()
    barrier.wait()
    while True:
        job_id = jobs.get()
        if job_id is None:
            jobs.task_done()
            return
        results[job_id] = work(job_id)
        counter.add(1)
        jobs.task_done()


class BoundedBuffer:
    def __init__(self, size):
        self.items, self.size = [], size
        self.cond = threading.Condition()

    def put(self, item):
        with self.cond:
            self.cond.wait_for(lambda: len(self.items) < self.size)
            self.items.append(item)
            self.cond.notify_all()

    def get(self):
        with self.cond:
            self.cond.wait_for(lambda: self.items)
            item = self.items.pop(0)
            self.cond.notify_all()
            return item


def main():
    jobs, results, counter = queue.Queue(), {}, Counter()
    barrier, start = threading.Barrier(N_WORKERS), threading.Event()
    threads = [threading.Thread(target=worker, args=(jobs, results, counter, barrier, start), name=f"worker-{i}")
               for i in range(N_WORKERS)]
    for t in threads:
        t.start()
    for job_id in range(N_JOBS):
        jobs.put(job_id)
    for _ in threads:
        jobs.put(None)
    start.set()
    jobs.join()
    for t in threads:
        t.join()
    print("workers alive after join:", [t.is_alive() for t in threads])
    print("worker names:", [t.name for t in threads])
    print("jobs processed:", counter.value, "results:", len(results))
    for job_id in sorted(results):
        jid, size, crc, digest = results[job_id]
        print(f"  job {jid:02d} size={size:>5} crc32={crc:08x} sha256[:16]={digest}")
    serial = [work(j) for j in range(N_JOBS)]
    print("matches serial computation:", [results[j] for j in range(N_JOBS)] == serial)

    print("== bounded buffer producer/consumer ==")
    buf = BoundedBuffer(3)
    consumed = []

    def producer():
        for i in range(20):
            buf.put(i * i)
        buf.put(None)

    def consumer():
        while True:
            item = buf.get()
            if item is None:
                return
            consumed.append(item)

    p, c = threading.Thread(target=producer), threading.Thread(target=consumer)
    c.start()
    p.start()
    p.join()
    c.join()
    print("consumed in FIFO order:", consumed)

    print("== ThreadPoolExecutor ==")
    with ThreadPoolExecutor(max_workers=3) as pool:
        mapped = list(pool.map(work, range(8)))
        futures = {pool.submit(work, j): j for j in range(8, 12)}
        done = sorted(f.result() for f in as_completed(futures))
    for jid, size, crc, digest in mapped + done:
        print(f"  job {jid:02d} size={size:>5} crc32={crc:08x}")
    local = threading.local()
    seen = []

    def uses_local(n):
        local.value = n
        seen.append((n, local.value))

    ts = [threading.Thread(target=uses_local, args=(n,)) for n in range(5)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("thread-local values:", sorted(seen), "| main has value:", hasattr(local, "value"))
    print("active threads at end:", threading.active_count())


if __name__ == "__main__":
    main()
