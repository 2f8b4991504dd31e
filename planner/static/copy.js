// Inputs with data-copy-label get a button that copies their value to the clipboard. Without
// JavaScript (or a clipboard) there is no button and the value can still be selected by hand.
document.querySelectorAll("input[data-copy-label]").forEach((input) => {
  if (!navigator.clipboard) return;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "primary";
  button.textContent = input.dataset.copyLabel;
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(input.value);
    button.textContent = input.dataset.copiedLabel;
  });
  input.after(button);
  input.addEventListener("focus", () => input.select());
});
