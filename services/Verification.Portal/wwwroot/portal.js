// The portal's only page script besides the proof checker: upload progress, live progress polling, as-you-type NIK checks,
// print buttons. Loaded from /static (the CSP allows no inline script); every page works without it, only less live.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print]")) button.addEventListener("click", () => window.print());
  for (const form of document.querySelectorAll("form[data-upload]")) sendWithProgress(form);
  for (const box of document.querySelectorAll("[data-poll]")) poll(box);
  for (const input of document.querySelectorAll("input[data-nik]")) checkNikAsTyped(input);
  for (const input of document.querySelectorAll("input[data-amount]")) checkAmountAsTyped(input);
});

// Sends the file with the anti-forgery token in a header, so the server streams the body instead of buffering it to find the token.
function sendWithProgress(form) {
  form.addEventListener("submit", (event) => {
    if (!form.checkValidity()) return;
    event.preventDefault();
    // A file over the limit is answered here, not sent: the server stops reading at the limit and may close the
    // connection before the browser reads its answer, which left the page without one.
    const chosen = form.querySelector("input[type=file]")?.files?.[0];
    const max = Number(form.dataset.maxBytes || 0);
    if (chosen && max > 0 && chosen.size > max && form.dataset.tooLarge) { window.location.assign(form.dataset.tooLarge); return; }
    const token = form.querySelector("input[name=__RequestVerificationToken]");
    const line = form.querySelector("[data-upload-progress]");
    const bar = form.querySelector("[data-upload-bar]");
    const button = form.querySelector("button[type=submit]");
    const data = new FormData(form);
    // The file last: the server reads the fields before it.
    const file = data.get("file");
    data.delete("file");
    data.delete("__RequestVerificationToken");
    data.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    if (token) request.setRequestHeader("RequestVerificationToken", token.value);
    request.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.round((e.loaded / e.total) * 100);
      if (bar) { bar.hidden = false; bar.value = percent; }
      if (line) line.textContent = percent + " %";
    });
    request.addEventListener("load", () => { window.location.assign(request.responseURL || form.action); });
    request.addEventListener("error", () => { if (button) button.disabled = false; if (line) line.textContent = "✗"; });
    if (button) button.disabled = true;
    request.send(data);
  });
}

// Polls a JSON progress endpoint every second until it says done, then reloads the page for the final results.
function poll(box) {
  if (box.dataset.done === "true") return;
  const url = box.dataset.poll;
  const progress = box.querySelector("progress");
  const tick = async () => {
    let state;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } });
      if (!response.ok) return;
      state = await response.json();
    } catch {
      return;
    } finally {
      if (!state || !finished(state)) setTimeout(tick, 1000);
    }
    for (const [name, value] of Object.entries(state)) {
      for (const field of document.querySelectorAll(`[data-field="${name}"]`)) field.textContent = String(value);
    }
    if (progress) {
      if (state.total !== undefined) progress.max = Math.max(1, state.total);
      progress.value = state.answered ?? state.processed ?? 0;
    }
    if (finished(state)) window.location.reload();
  };
  setTimeout(tick, 500);
}

function finished(state) {
  return state.done === true || ["COMPLETED", "FAILED", "EXPIRED"].includes(state.state);
}

// NIK structure as Membership checks it (province from the shared kernel's list, regency, district, birth date, serial);
// a hint as the member types, never a decision: Membership decides on submit.
function checkNikAsTyped(input) {
  const out = document.getElementById(input.getAttribute("aria-describedby"));
  const provinces = new Set((input.dataset.provinces || "").split(","));
  const lang = document.documentElement.lang;
  const words = lang === "en"
    ? { length: "A NIK has 16 digits", digits: "Digits only", province: "Unknown province code", regency: "Regency code 00", district: "District code 00", birth: "The birth date in the NIK is not a date", serial: "Serial 0000", sex: "The NIK says another sex", date: "The NIK says another birth date", ok: "Looks right" }
    : { length: "NIK terdiri dari 16 angka", digits: "Hanya angka", province: "Kode provinsi tidak dikenal", regency: "Kode kabupaten/kota 00", district: "Kode kecamatan 00", birth: "Tanggal lahir dalam NIK tidak valid", serial: "Nomor urut 0000", sex: "Jenis kelamin berbeda dengan NIK", date: "Tanggal lahir berbeda dengan NIK", ok: "Format benar" };
  const form = input.form;
  const check = () => {
    const nik = input.value.trim();
    let problem = null;
    if (nik.length === 0) { out.textContent = ""; input.removeAttribute("aria-invalid"); return; }
    if (!/^\d*$/.test(nik)) problem = words.digits;
    else if (nik.length !== 16) problem = words.length;
    else if (!provinces.has(nik.slice(0, 2))) problem = words.province;
    else if (nik.slice(2, 4) === "00") problem = words.regency;
    else if (nik.slice(4, 6) === "00") problem = words.district;
    else if (nik.slice(12) === "0000") problem = words.serial;
    else {
      let day = Number(nik.slice(6, 8));
      const female = day > 40;
      if (female) day -= 40;
      const month = Number(nik.slice(8, 10));
      const yy = Number(nik.slice(10, 12));
      const real = (y) => { const d = new Date(Date.UTC(y, month - 1, day)); return d.getUTCMonth() === month - 1 && d.getUTCDate() === day; };
      if (month < 1 || month > 12 || day < 1 || !(real(1900 + yy) || real(2000 + yy))) problem = words.birth;
      else if (form) {
        const birth = form.querySelector("input[data-birth]");
        const sex = form.querySelector("select[data-sex]");
        if (birth && birth.value) {
          const [y, m, d] = birth.value.split("-").map(Number);
          if (m !== month || d !== day || (y % 100) !== yy) problem = words.date;
        }
        if (!problem && sex && sex.value) {
          if ((sex.value === "Female") !== female) problem = words.sex;
        }
      }
    }
    out.textContent = problem ?? words.ok;
    out.classList.toggle("ok", !problem);
    if (problem) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  };
  input.addEventListener("input", check);
  if (form) for (const other of form.querySelectorAll("input[data-birth], select[data-sex]")) other.addEventListener("change", check);
  if (input.value) check();
}

function checkAmountAsTyped(input) {
  const out = document.getElementById(input.getAttribute("aria-describedby"));
  const message = document.documentElement.lang === "en" ? "Whole rupiah, more than 0" : "Rupiah bulat, lebih dari 0";
  input.addEventListener("input", () => {
    const ok = input.value === "" || (/^\d+$/.test(input.value) && Number(input.value) > 0);
    if (out) out.textContent = ok ? "" : message;
    if (ok) input.removeAttribute("aria-invalid"); else input.setAttribute("aria-invalid", "true");
  });
}
