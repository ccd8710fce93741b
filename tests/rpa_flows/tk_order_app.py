"""A small legacy-style Tk program for the flow tests: a 10-field outpatient order form.

    python tk_order_app.py --out saved.jsonl --events keys.jsonl --control DIR [--popup-rate 0.2 --seed 1]

- Title "Outpatient order 门诊医嘱"; fields in a grid (label left, entry right); `dept` is an editable
  ttk.Combobox (its drop-down list is an override-redirect window of this program).
- Save asks "Save this order?" in a transient dialog (Enter or Yes saves, appends one JSON line to --out).
- A "Notice" popup (transient, takes the focus) comes uninvited: with --popup-rate when a field gets the
  focus (after a random 0-0.6 s), or at once when a file named `popup` appears in --control.
- Every key press this program receives is appended to --events with the window that got it, so a
  test can tell which keys went where without trusting the player.
- `thief` mode (--thief): a plain window of ANOTHER program that takes the keyboard focus when a file
  `steal` appears in --control, and logs every key it receives.
"""
from __future__ import annotations

import argparse
import json
import random
import tkinter as tk
from pathlib import Path
from tkinter import ttk

FIELDS = ["patient_id", "name", "sex", "phone", "dept", "doctor", "diagnosis", "drug", "dose", "notes"]
LABELS = {"patient_id": "Patient ID", "name": "Name 姓名", "sex": "Sex", "phone": "Phone", "dept": "Dept 科室",
          "doctor": "Doctor", "diagnosis": "Diagnosis", "drug": "Drug", "dose": "Dose", "notes": "Notes"}
DEPTS = ["内科", "外科", "儿科", "骨科", "眼科", "急诊科", "ENT", "Oncology"]
FONT = ("DejaVu Sans", 13)


class App:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.root = tk.Tk(className="OrderApp")
        self.root.title("Outpatient order")
        self.root.geometry("760x640+40+40")
        self.root.option_add("*Font", FONT)
        self.popup: tk.Toplevel | None = None
        self.confirm: tk.Toplevel | None = None
        self.control = Path(args.control) if args.control else None
        self.title = tk.Label(self.root, text="Outpatient order 门诊医嘱", font=("DejaVu Sans", 18, "bold"), fg="#123a6b")
        self.title.grid(row=0, column=0, columnspan=2, pady=12)
        self.entries: dict[str, tk.Widget] = {}
        self.labels: dict[str, tk.Widget] = {}
        for i, name in enumerate(FIELDS, start=1):
            self.labels[name] = tk.Label(self.root, text=LABELS[name], width=12, anchor="w")
            self.labels[name].grid(row=i, column=0, padx=10, pady=6)
            if name == "dept":
                w: tk.Widget = ttk.Combobox(self.root, values=DEPTS, width=38, font=FONT)
            else:
                w = tk.Entry(self.root, width=40, font=FONT)
            w.grid(row=i, column=1, sticky="w", padx=6)
            w.bind("<FocusIn>", self._maybe_popup)
            if args.popup_on_paste:
                w.bind("<Control-v>", self._swallow_paste)
            self.entries[name] = w
        self.save_button = tk.Button(self.root, text="Save 保存", command=self.ask_save, width=10)
        self.save_button.grid(row=11, column=1, sticky="w", pady=14)
        self.root.bind_all("<KeyPress>", self._key, add="+")
        if self.control:
            self.root.after(15, self._poll_control)

    # -- what the tests read --------------------------------------------------------------------
    def _log(self, path: str | None, item: dict) -> None:
        if path:
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")

    def _key(self, ev: tk.Event) -> None:
        top = ev.widget.winfo_toplevel() if hasattr(ev.widget, "winfo_toplevel") else None
        where = "popup" if top is self.popup and top else "confirm" if top is self.confirm and top else \
            "main" if top is self.root else str(top)
        self._log(self.args.events, {"window": where, "widget": str(ev.widget), "keysym": ev.keysym})

    # -- uninvited popups -------------------------------------------------------------------------
    def _maybe_popup(self, _ev=None) -> None:
        if self.args.popup_rate and self.popup is None and self.rng.random() < self.args.popup_rate:
            self.root.after(int(self.rng.uniform(0, 600)), self.show_popup)

    def _swallow_paste(self, _ev=None) -> str:
        self.show_popup()  # the popup comes first: the paste never happens
        return "break"

    def show_popup(self) -> None:
        if self.popup is not None:
            return
        p, label = self._dialog("Notice", "360x150+250+260", "Notice 提示: new lab results", 14, fg="#8a1c1c")
        ok = tk.Button(p, text="OK", width=8, command=self.close_popup)
        ok.pack()
        p.bind("<Return>", lambda e: self.close_popup())
        p.bind("<space>", lambda e: self.close_popup())
        p.protocol("WM_DELETE_WINDOW", self.close_popup)
        self.popup = p
        self._shown("popup", p, label=label, ok=ok)

    def _dialog(self, title: str, geometry: str, text: str, pad: int,
                **label_options: str) -> tuple[tk.Toplevel, tk.Label]:
        """A dialog of this program (transient for the main window) with its label packed."""
        d = tk.Toplevel(self.root)
        d.title(title)
        d.transient(self.root)
        d.geometry(geometry)
        label = tk.Label(d, text=text, **label_options)
        label.pack(pady=pad)
        return d, label

    def _shown(self, name: str, dialog: tk.Toplevel, **widgets: tk.Widget) -> None:
        """The dialog takes the focus; its widgets' boxes go to the control folder."""
        dialog.update_idletasks()
        dialog.focus_force()
        self._boxes(name, **widgets)

    def _boxes(self, name: str, **widgets: tk.Widget) -> None:
        if self.control:
            self.root.update_idletasks()
            tmp = self.control / f"{name}.tmp"
            tmp.write_text(json.dumps({k: _box(w) for k, w in widgets.items()}))
            tmp.rename(self.control / f"{name}.json")

    def close_popup(self) -> None:
        if self.popup is not None:
            self.popup.destroy()
            self.popup = None
            if self.control and (self.control / "popup.json").exists():
                (self.control / "popup.json").unlink()
            (self.confirm or self.root).focus_force()

    # -- saving -----------------------------------------------------------------------------------------
    def ask_save(self) -> None:
        if self.confirm is not None:
            return
        c, label = self._dialog("Confirm", "340x140+260+300", "Save this order? 确认保存", 12)
        row = tk.Frame(c)
        row.pack()
        yes = tk.Button(row, text="Yes", width=8, command=self.save)
        yes.pack(side="left", padx=8)
        tk.Button(row, text="No", width=8, command=self.close_confirm).pack(side="left", padx=8)
        c.bind("<Return>", lambda e: self.save())
        c.bind("<Escape>", lambda e: self.close_confirm())
        self.confirm = c
        self._shown("confirm", c, label=label, yes=yes)

    def close_confirm(self) -> None:
        if self.confirm is not None:
            self.confirm.destroy()
            self.confirm = None
        self.root.focus_force()

    def save(self) -> None:
        rec = {name: w.get() for name, w in self.entries.items()}
        self._log(self.args.out, rec)
        if self.args.popup_after_save and self.rng.random() < self.args.popup_after_save:
            self.root.after(int(self.rng.uniform(200, 1000)), self.show_popup)
        for name, w in self.entries.items():
            if name == "dept":
                w.set("")
            else:
                w.delete(0, "end")
        self.close_confirm()

    def _poll_control(self) -> None:
        assert self.control is not None
        flag = self.control / "popup"
        if flag.exists():
            flag.unlink()
            self.show_popup()
        ready = self.control / "ready"
        if not ready.exists():
            self.root.update_idletasks()
            boxes = {"title": _box(self.title), "save": _box(self.save_button),
                     **{f"entry_{n}": _box(w) for n, w in self.entries.items()},
                     **{f"label_{n}": _box(w) for n, w in self.labels.items()}}
            tmp = self.control / "ready.tmp"
            tmp.write_text(json.dumps(boxes))
            tmp.rename(ready)
        self.root.after(15, self._poll_control)


def _box(w: tk.Widget) -> list[int]:
    return [w.winfo_rootx(), w.winfo_rooty(), w.winfo_width(), w.winfo_height()]


class Thief:
    """Another program: takes the keyboard focus when told to, and logs every key it gets."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.root = tk.Tk(className="Thief")
        self.root.title("Other program")
        self.root.geometry("300x120+1500+40")
        self.entry = tk.Entry(self.root, width=20)
        self.entry.pack(pady=30)
        self.root.bind_all("<KeyPress>", self._key, add="+")
        self.control = Path(args.control)
        self.root.after(15, self._poll)

    def _key(self, ev: tk.Event) -> None:
        with open(self.args.events, "a", encoding="utf-8") as f:
            f.write(json.dumps({"window": "thief", "keysym": ev.keysym}) + "\n")

    def _poll(self) -> None:
        flag = self.control / "steal"
        if flag.exists():
            flag.unlink()
            self.root.focus_force()
            self.entry.focus_set()
        ready = self.control / "thief-ready"
        if not ready.exists():
            ready.write_text("ok")
        self.root.after(15, self._poll)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--events")
    ap.add_argument("--control")
    ap.add_argument("--popup-rate", type=float, default=0.0)
    ap.add_argument("--popup-after-save", type=float, default=0.0,
                    help="chance of a popup 0.2-1.0 s after each save (the benchmark's 20%% popup rate)")
    ap.add_argument("--popup-on-paste", action="store_true", help="a popup swallows Ctrl+V in the fields")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--thief", action="store_true")
    args = ap.parse_args()
    app = Thief(args) if args.thief else App(args)
    app.root.mainloop()


if __name__ == "__main__":
    main()
