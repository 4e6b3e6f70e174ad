#!/usr/bin/env python3
"""Synthetic traces in every format fleetsim reads, for bench_readers (not for tests).

    python3 tests/bench/gen_traces.py [--rows N] [--out DIR] [--gzip]

writes DIR/bench.{azure.csv, burstgpt.csv, mooncake.jsonl, vllm.jsonl, generic.csv,
generic.jsonl} with N rows each (default 1,000,000 into /tmp/fleetsim-bench), and with --gzip
a .gz of each too. The rows look like the real traces: Azure 2023 timestamps with 7 fractional
digits, BurstGPT v1.2 (about 2% failed requests), Mooncake rows with ~20 hash ids of which
shared prefixes come from a pool of system prompts, vLLM benchmark rows with their eight
fields. The generic files use the columns bench_readers maps: t (ms), in, out, tenant, session,
prio. Seeded: the same arguments write the same bytes.
"""
import argparse
import datetime
import gzip
import os
import random
import shutil


def azure(f, n, rnd):
    f.write("TIMESTAMP,ContextTokens,GeneratedTokens\n")
    t = datetime.datetime(2023, 11, 16, 18, 15, 46)
    us = 0
    for _ in range(n):
        us += int(rnd.expovariate(1 / 180000)) + 1  # ~5.5 requests/s
        ts = t + datetime.timedelta(microseconds=us)
        f.write(f"{ts:%Y-%m-%d %H:%M:%S}.{ts.microsecond:06d}{rnd.randrange(10)},{rnd.randint(1, 8000)},{rnd.randint(1, 800)}\n")


def burstgpt(f, n, rnd):
    f.write("Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type\n")
    t = 0
    for _ in range(n):
        t += rnd.randint(0, 3)
        req = rnd.randint(1, 4000)
        resp = 0 if rnd.random() < 0.02 else rnd.randint(1, 1000)
        model = "ChatGPT" if rnd.random() < 0.8 else "GPT-4"
        log = "Conversation log" if rnd.random() < 0.6 else "API log"
        f.write(f"{t},{rnd.randint(1, 200000)},{rnd.random() * 30:.2f},{model},{req},{resp},{req + resp},{log}\n")


def mooncake(f, n, rnd):
    prompts = [list(range(i * 8, i * 8 + rnd.randint(1, 8))) for i in range(200)]
    next_id = 200 * 8
    t = 0
    for _ in range(n):
        t += rnd.randint(0, 30)
        nblocks = rnd.randint(10, 30)
        ids = list(prompts[rnd.randrange(len(prompts))]) if rnd.random() < 0.5 else []
        while len(ids) < nblocks:
            ids.append(next_id)
            next_id += 1
        ids = ids[:nblocks]
        length = (nblocks - 1) * 512 + rnd.randint(1, 512)
        f.write(f'{{"timestamp": {t}, "input_length": {length}, "output_length": {rnd.randint(1, 600)}, '
                f'"hash_ids": [{", ".join(map(str, ids))}]}}\n')


def vllm(f, n, rnd):
    arrival = 1787267980.0827403
    queued = 27536.660701067
    for i in range(n):
        gap = rnd.expovariate(20)
        arrival += gap
        queued += gap
        sched = queued + rnd.random() * 0.01
        first = sched + rnd.random()
        f.write(f'{{"request_id": "bench-{i}", "input_toks": {rnd.randint(1, 4000)}, "output_toks": {rnd.randint(1, 800)}, '
                f'"arrival_time": {arrival:.7f}, "queued_ts": {queued:.9f}, "scheduled_ts": {sched:.9f}, '
                f'"first_token_ts": {first:.9f}, "last_token_ts": {first + rnd.random() * 20:.9f}}}\n')


def generic_csv(f, n, rnd):
    f.write("t,in,out,tenant,session,prio\n")
    t = 0.0
    for _ in range(n):
        t += rnd.randint(0, 200) / 4
        f.write(f"{t},{rnd.randint(1, 8000)},{rnd.randint(1, 800)},tenant-{rnd.randrange(8)},"
                f"s{rnd.randrange(100000)},{rnd.randrange(3)}\n")


def generic_jsonl(f, n, rnd):
    t = 0.0
    for _ in range(n):
        t += rnd.randint(0, 200) / 4
        f.write(f'{{"t": {t}, "in": {rnd.randint(1, 8000)}, "out": {rnd.randint(1, 800)}, '
                f'"tenant": "tenant-{rnd.randrange(8)}", "session": "s{rnd.randrange(100000)}", "prio": {rnd.randrange(3)}}}\n')


FILES = [("azure.csv", azure), ("burstgpt.csv", burstgpt), ("mooncake.jsonl", mooncake), ("vllm.jsonl", vllm),
         ("generic.csv", generic_csv), ("generic.jsonl", generic_jsonl)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--out", default="/tmp/fleetsim-bench")
    ap.add_argument("--gzip", action="store_true", help="also write a .gz of each file")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name, gen in FILES:
        path = os.path.join(a.out, "bench." + name)
        with open(path, "w", buffering=1 << 20) as f:
            gen(f, a.rows, random.Random(name))
        if a.gzip:
            with open(path, "rb") as src, gzip.open(path + ".gz", "wb", compresslevel=6) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        print(path, os.path.getsize(path))


if __name__ == "__main__":
    main()
