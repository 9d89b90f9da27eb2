"""The default mode of ``bench.py``: a CgSMS send against Odoo's stock ``sms.composer`` mass
send, same partners, each phase (compose + queue, delivery) in a fresh Odoo process."""

from bench_common import (
    BATCH,
    BODY,
    _measure,
    _mobile_field,
    _partner_ids,
    _rate,
    _use_path,
    _worker,
)


def _table(rows, paths):
    header = f"{'N':>7} | {'phase':<15}"
    for path in paths:
        header += f" | {path + ' s':>9} | {'SMS/s':>7} | {path + ' MB':>9}"
    lines = [header, "-" * len(header)]
    for row in rows:
        line = f"{row['size']:>7} | {row['phase']:<15}"
        for path in paths:
            r = row[path]
            line += (
                f" | {r['seconds']:>9.2f} | {_rate(row['size'], r['seconds']):>7.1f} | "
                f"{r['peak_mb']:>9.1f}"
            )
        lines.append(line)
    return "\n".join(lines)


def _run_in_process(options, env, python, sizes, paths, gateway):
    rows = []
    for size in sizes:
        results = {}
        for path in paths:
            _worker(env, python, options.db, "clean", path=path)
            gateway.reset()
            compose = _worker(env, python, options.db, "compose", path=path, size=size)
            results[path] = [compose]
            line = (
                f"  {path:<5} N={size:<7} compose+queue {compose['seconds']:8.2f}s "
                f"{compose['peak_mb']:7.1f} MB (queued {compose['queued']})"
            )
            if not options.compose_only:
                deliver = _worker(env, python, options.db, "deliver", path=path, size=size)
                provider = "sandbox" if path == "cgsms" else "iap"
                received, numbers = gateway.count(provider)
                if received != size or numbers != size:
                    raise SystemExit(
                        f"{path} at {size}: the gateway received {received} SMS for "
                        f"{numbers} numbers, expected {size}"
                    )
                if deliver.get("left"):
                    raise SystemExit(f"{path} at {size}: not all sent: {deliver['left']}")
                results[path].append(deliver)
                line += (
                    f", delivery {deliver['seconds']:8.2f}s "
                    f"({_rate(size, deliver['seconds']):.1f} SMS/s) {deliver['peak_mb']:7.1f} MB"
                    f" (gateway got {received})"
                )
            print(line, flush=True)
        phases = ("compose + queue",) if options.compose_only else ("compose + queue", "delivery")
        for index, phase in enumerate(phases):
            rows.append({"size": size, "phase": phase, **{p: results[p][index] for p in paths}})
    print()
    print(_table(rows, paths))


# ------------------------------------------------------------------------------ worker side


def _phase_compose(env, args):
    path, size = args["path"], args["size"]
    _use_path(env, path)
    ids = _partner_ids(env, size)
    env.invalidate_all()

    def cgsms_send():
        if "cgsms.message" in env:
            message = env["cgsms.message"].create(
                {"name": f"Bench {size}", "body": BODY, "partner_ids": [(6, 0, ids)]}
            )
            message.with_context(cgsms_direct_send_limit=0).action_send()
            return message.id
        # Fallback: queue sms.sms rows as a cgsms send does.
        partners = env["res.partner"].browse(ids)
        for start in range(0, size, BATCH):
            env["sms.sms"].create(
                [
                    {
                        "number": p[_mobile_field(env)],
                        "partner_id": p.id,
                        "body": BODY,
                        "state": "outgoing",
                        "cgsms_company_id": env.company.id,
                    }
                    for p in partners[start : start + BATCH]
                ]
            )
        return 0

    def stock_send():
        composer = env["sms.composer"].create(
            {
                "composition_mode": "mass",
                "res_model": "res.partner",
                "res_ids": repr(ids),
                "body": BODY,
                "number_field_name": _mobile_field(env),
                "mass_keep_log": False,
                "mass_force_send": False,
            }
        )
        composer.action_send_sms()
        return 0

    message_id, seconds, peak = _measure(env, cgsms_send if path == "cgsms" else stock_send)
    queued = env["sms.sms"].search_count([("state", "=", "outgoing")])
    return {"seconds": seconds, "peak_mb": peak, "queued": queued, "message_id": message_id}


def _phase_deliver(env, args):
    _use_path(env, args["path"])
    Sms = env["sms.sms"]

    def deliver():
        rounds = 0
        while Sms.search_count([("state", "=", "outgoing"), ("to_delete", "!=", True)]):
            Sms._process_queue()
            env.invalidate_all()
            rounds += 1
            if rounds > 100:
                raise RuntimeError("the SMS queue does not empty")
        return rounds

    rounds, seconds, peak = _measure(env, deliver)
    left = {}
    if args["path"] == "cgsms":
        message = env["cgsms.message"].search([], limit=1, order="id desc")
        left = {
            state: count
            for state, count in env["cgsms.recipient"]._read_group(
                [("message_id", "=", message.id), ("state", "not in", ("sent", "delivered"))],
                ["state"],
                ["__count"],
            )
        }
    return {"seconds": seconds, "peak_mb": peak, "rounds": rounds, "left": left}


PHASES = {"compose": _phase_compose, "deliver": _phase_deliver}
