"""A classic BPF interpreter with Linux semantics, for golden tests without root.

``run(program, packet, **meta)`` returns what the kernel's program would
return for ``packet`` (a socket filter: bytes to keep, 0 = drop; a fanout
program: the member selector).  ``program`` is a list of
``(code, jt, jf, k)``.  Metadata stands in for the skb fields the ancillary
loads read.  ``disasm(program)`` gives one line per instruction.

Absolute loads read ``packet`` from offset 0 (a socket filter on a SOCK_RAW
socket sees the Ethernet header there).  ``SKF_LL_OFF + k`` reads
``packet[k]``; ``SKF_NET_OFF + k`` reads ``packet[net_offset + k]``
(``net_offset`` defaults to 14).  Out-of-bounds loads and division by zero
end the program with 0, as in the kernel.
"""

SKF_AD_OFF = -0x1000
SKF_NET_OFF = -0x100000
SKF_LL_OFF = -0x200000

AD = {0: "proto", 4: "type", 8: "ifidx", 20: "mark", 24: "queue", 28: "hatype",
      32: "rxhash", 36: "cpu", 44: "vlan_tci", 48: "vlanp", 52: "poff", 56: "random",
      60: "vlan_tpid"}

_M32 = 0xFFFFFFFF


def _signed(k):
    return k - (1 << 32) if k & 0x80000000 else k


class _Meta:
    def __init__(self, packet, pkttype, ifindex, hatype, queue, vlan_tci, vlan_tpid, protocol,
                 net_offset, mark):
        self.packet = packet
        self.net_offset = net_offset
        self.values = {
            0: protocol if protocol is not None else
            (int.from_bytes(packet[12:14], "big") if len(packet) >= 14 else 0),
            4: pkttype, 8: ifindex, 20: mark, 24: queue, 28: hatype, 32: 0, 36: 0,
            44: vlan_tci or 0, 48: 1 if vlan_tci is not None else 0, 52: 0,
            60: vlan_tpid if vlan_tci is not None else 0,
        }
        self.random = 0


def _load(meta, offset, size):
    """A load at a (signed) offset, or None when out of bounds."""
    if offset >= 0:
        base, data = offset, meta.packet
    elif offset >= SKF_AD_OFF:
        n = offset - SKF_AD_OFF
        if n == 56:
            meta.random = (meta.random * 1103515245 + 12345) & _M32
            return meta.random
        return meta.values.get(n, 0) & _M32
    elif SKF_NET_OFF <= offset < SKF_AD_OFF:
        base, data = meta.net_offset + (offset - SKF_NET_OFF), meta.packet
    elif SKF_LL_OFF <= offset < SKF_NET_OFF:
        base, data = offset - SKF_LL_OFF, meta.packet
    else:
        return None
    if base < 0 or base + size > len(data):
        return None
    return int.from_bytes(data[base:base + size], "big")


def run(program, packet, *, pkttype=0, ifindex=1, hatype=1, queue=0, vlan_tci=None,
        vlan_tpid=0x8100, protocol=None, net_offset=14, mark=0, wirelen=None):
    meta = _Meta(bytes(packet), pkttype, ifindex, hatype, queue, vlan_tci, vlan_tpid, protocol,
                 net_offset, mark)
    a = x = 0
    mem = [0] * 16
    pc = 0
    length = len(packet) if wirelen is None else wirelen
    sizes = {0x00: 4, 0x08: 2, 0x10: 1}
    while pc < len(program):
        code, jt, jf, k = program[pc]
        pc += 1
        cls = code & 0x07
        if cls in (0x00, 0x01):                         # LD / LDX
            mode, size = code & 0xE0, sizes.get(code & 0x18, 4)
            if mode == 0x00:                            # IMM
                v = k
            elif mode == 0x80:                          # LEN
                v = length
            elif mode == 0x60:                          # MEM
                v = mem[k & 15]
            elif mode == 0x20:                          # ABS
                v = _load(meta, _signed(k), size)
            elif mode == 0x40:                          # IND
                v = _load(meta, _signed((x + k) & _M32), size)
            elif mode == 0xA0:                          # MSH (ldx only)
                b = _load(meta, _signed(k), 1)
                v = None if b is None else (b & 0xF) * 4
            else:
                raise ValueError(f"bad load mode {code:#x} at {pc - 1}")
            if v is None:
                return 0
            if cls == 0x00:
                a = v & _M32
            else:
                x = v & _M32
        elif cls == 0x02:                               # ST
            mem[k & 15] = a
        elif cls == 0x03:                               # STX
            mem[k & 15] = x
        elif cls == 0x04:                               # ALU
            op, src = code & 0xF0, (x if code & 0x08 else k)
            if op == 0x00:
                a = (a + src) & _M32
            elif op == 0x10:
                a = (a - src) & _M32
            elif op == 0x20:
                a = (a * src) & _M32
            elif op in (0x30, 0x90):
                if src == 0:
                    return 0
                a = a // src if op == 0x30 else a % src
            elif op == 0x40:
                a |= src
            elif op == 0x50:
                a &= src
            elif op == 0x60:
                a = (a << src) & _M32 if src < 32 else 0
            elif op == 0x70:
                a = a >> src if src < 32 else 0
            elif op == 0x80:
                a = (-a) & _M32
            elif op == 0xA0:
                a ^= src
            else:
                raise ValueError(f"bad alu op {code:#x} at {pc - 1}")
        elif cls == 0x05:                               # JMP
            op = code & 0xF0
            if op == 0x00:
                pc += k
                continue
            src = x if code & 0x08 else k
            cond = {0x10: a == src, 0x20: a > src, 0x30: a >= src, 0x40: bool(a & src)}[op]
            pc += jt if cond else jf
        elif cls == 0x06:                               # RET
            return (a if code & 0x18 == 0x10 else k) & _M32
        elif cls == 0x07:                               # MISC
            if code & 0xF8 == 0x00:
                x = a
            else:
                a = x
    raise ValueError("program ran off its end")


def check(program):
    """The kernel's static checks of a classic program (bpf_check_classic):
    length, jump targets, a final return, constant division by zero, and no
    load of a scratch word that is not stored on the way there.  Raises
    ValueError with the reason."""
    n = len(program)
    if not 0 < n <= 4096:
        raise ValueError(f"program has {n} instructions")
    if program[-1][0] & 0x07 != 0x06:
        raise ValueError("the last instruction is not a return")
    masks = [0xFFFF] * (n + 1)
    valid = 0
    for pc, (code, jt, jf, k) in enumerate(program):
        valid &= masks[pc]
        cls = code & 0x07
        if cls == 0x05:
            targets = [pc + 1 + k] if code & 0xF0 == 0x00 else [pc + 1 + jt, pc + 1 + jf]
            for t in targets:
                if t >= n:
                    raise ValueError(f"jump at {pc} leaves the program")
                masks[t] &= valid
            valid = 0xFFFF
        elif cls in (0x02, 0x03):
            valid |= 1 << (k & 15)
        elif cls in (0x00, 0x01) and code & 0xE0 == 0x60 and not valid & (1 << (k & 15)):
            raise ValueError(f"load of scratch word {k} at {pc} before a store")
        elif cls == 0x04 and code & 0xF0 in (0x30, 0x90) and not code & 0x08 and k == 0:
            raise ValueError(f"division by constant 0 at {pc}")


def _operand(k):
    s = _signed(k)
    if SKF_AD_OFF <= s < 0:
        return AD.get(s - SKF_AD_OFF, f"#ad{s - SKF_AD_OFF}")
    if SKF_NET_OFF <= s < SKF_AD_OFF:
        return f"[net+{s - SKF_NET_OFF}]"
    if SKF_LL_OFF <= s < SKF_NET_OFF:
        return f"[ll+{s - SKF_LL_OFF}]"
    return f"[{k}]"


def disasm(program):
    """One readable line per instruction, libpcap style."""
    out = []
    width = {0x00: "", 0x08: "h", 0x10: "b"}
    for i, (code, jt, jf, k) in enumerate(program):
        cls = code & 0x07
        if cls in (0x00, 0x01):
            reg = "ld" if cls == 0 else "ldx"
            mode = code & 0xE0
            if mode == 0x00:
                out.append(f"{reg} #{k:#x}")
            elif mode == 0x80:
                out.append(f"{reg} len")
            elif mode == 0x60:
                out.append(f"{reg} M[{k}]")
            elif mode == 0xA0:
                out.append(f"ldxb 4*([{k}]&0xf)")
            elif mode == 0x40:
                out.append(f"{reg}{width[code & 0x18]} [x+{_signed(k)}]")
            else:
                opnd = _operand(k)
                out.append(f"{reg}{width[code & 0x18] if opnd.startswith('[') else ''} {opnd}")
        elif cls == 0x02:
            out.append(f"st M[{k}]")
        elif cls == 0x03:
            out.append(f"stx M[{k}]")
        elif cls == 0x04:
            names = {0x00: "add", 0x10: "sub", 0x20: "mul", 0x30: "div", 0x40: "or", 0x50: "and",
                     0x60: "lsh", 0x70: "rsh", 0x80: "neg", 0x90: "mod", 0xA0: "xor"}
            op = names[code & 0xF0]
            out.append(op if op == "neg" else f"{op} {'x' if code & 0x08 else f'#{k:#x}'}")
        elif cls == 0x05:
            op = code & 0xF0
            if op == 0x00:
                out.append(f"ja {i + 1 + k}")
            else:
                name = {0x10: "jeq", 0x20: "jgt", 0x30: "jge", 0x40: "jset"}[op]
                src = "x" if code & 0x08 else f"#{k:#x}"
                out.append(f"{name} {src} jt {i + 1 + jt} jf {i + 1 + jf}")
        elif cls == 0x06:
            out.append("ret a" if code & 0x18 == 0x10 else f"ret #{k}")
        else:
            out.append("tax" if code & 0xF8 == 0x00 else "txa")
    return out
