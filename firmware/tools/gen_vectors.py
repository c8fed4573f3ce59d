"""docs/wristband_vectors.json -> a C header of the same vectors, so the C core is tested against the very bytes
the Python gateway is (python3 tools/gen_vectors.py VECTORS.json OUT.h)."""

import json
import sys


def c_bytes(name: str, hex_text: str) -> str:
    data = bytes.fromhex(hex_text)
    body = ", ".join(f"0x{b:02x}" for b in data) or "0"
    return f"static const uint8_t {name}[] = {{{body}}};\n"


def main(src: str, out: str) -> None:
    with open(src) as f:
        vectors = json.load(f)["vectors"]
    lines = [
        "/* generated from docs/wristband_vectors.json by firmware/tools/gen_vectors.py: do not edit */\n",
        "#include <stdint.h>\n\n",
    ]
    for i, v in enumerate(vectors):
        lines.append(c_bytes(f"payload_{i}", v["payload_hex"]))
        lines.append(c_bytes(f"wire_{i}", v["wire_hex"]))
    lines.append(
        "\ntypedef struct {\n    const char *name; uint8_t type; uint16_t flags; uint32_t band_id, seq, device_ms;\n"
        "    uint16_t count; const uint8_t *payload; uint16_t payload_len; const uint8_t *wire; uint16_t wire_len;\n"
        "} ls_vector;\n\nstatic const ls_vector LS_VECTORS[] = {\n"
    )
    types = {
        "HELLO": 1,
        "SAMPLES": 2,
        "ACK": 3,
        "TIME_SYNC": 4,
        "EVENT": 5,
        "COMMAND": 6,
        "BYE": 7,
        "ERROR": 8,
    }
    for i, v in enumerate(vectors):
        lines.append(
            f'    {{"{v["name"]}", {types[v["type"]]}, {v["flags"]}u, {v["band_id"]}u, {v["seq"]}u, {v["device_ms"]}u, '
            f"{v['count']}u, payload_{i}, {len(v['payload_hex']) // 2}u, wire_{i}, {len(v['wire_hex']) // 2}u}},\n"
        )
    lines.append(f"}};\n#define LS_N_VECTORS {len(vectors)}u\n")
    with open(out, "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
