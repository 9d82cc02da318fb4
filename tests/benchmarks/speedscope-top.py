#!/usr/bin/env python3
"""Summarises a speedscope profile from dotnet-trace (collect --format Speedscope): where threads were in managed code
(samples ending in the pseudo-frame CPU_TIME; UNMANAGED_CODE_TIME, which mixes native work with blocking waits, is
left out), by the frame under it (self), by every frame on the stack (inclusive), and by library (the innermost
frame of a listed component on the stack). Thread time, not CPU time: on a loaded machine a runnable thread counts too.
Usage: speedscope-top.py FILE.speedscope.json [--top N]"""
import json
import sys
from collections import Counter

COMPONENTS = ["Verification.Rentan", "Verification.Membership", "Verification.Platform", "Verification.Api", "Verification.Domain",
              "MassTransit", "RabbitMQ", "Npgsql", "Microsoft.EntityFrameworkCore", "Grpc", "Google.Protobuf", "System.Text.Json",
              "System.Security.Cryptography", "Microsoft.AspNetCore", "System.Net"]


def component(names, stack):
    for frame in reversed(stack):
        module = names[frame].split("!", 1)[0]
        for c in COMPONENTS:
            if module.startswith(c):
                return c
    return "other (thread pool, GC, runtime)"


def main():
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 30
    doc = json.load(open(sys.argv[1]))
    names = [f["name"] for f in doc["shared"]["frames"]]
    self_time, inclusive, by_component, total = Counter(), Counter(), Counter(), 0.0
    for profile in doc["profiles"]:
        stack, last = [], None
        for event in profile["events"]:
            if last is not None and len(stack) > 1 and names[stack[-1]] == "CPU_TIME":
                weight = event["at"] - last
                total += weight
                self_time[names[stack[-2]]] += weight
                for name in {names[f] for f in stack[:-1]}:
                    inclusive[name] += weight
                by_component[component(names, stack[:-1])] += weight
            last = event["at"]
            if event["type"] == "O":
                stack.append(event["frame"])
            elif stack:
                stack.pop()
    print(f"managed thread time: {total:,.0f} ms")
    print("\n== by component (innermost listed frame)")
    for name, weight in by_component.most_common():
        print(f"{100 * weight / total:6.2f} %  {name}")
    print(f"\n== self, top {top}")
    for name, weight in self_time.most_common(top):
        print(f"{100 * weight / total:6.2f} %  {name[:170]}")
    print(f"\n== inclusive, Verification frames, top {top}")
    for name, weight in [(n, w) for n, w in inclusive.most_common() if n.startswith("Verification")][:top]:
        print(f"{100 * weight / total:6.2f} %  {name[:170]}")


main()
